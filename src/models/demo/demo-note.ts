/** What every output of a demo model says about it (after the model names). */
export function demoNote(models = 1): string {
  const [have, its] = models === 1 ? ['has', 'its'] : ['have', 'their'];
  return `${have} random weights: ${its} text is noise, but ${its} speed and memory are real. For a real model: 'tandem models pull phi-4-mini' (for a twin:ALIAS, pull ALIAS), or a server such as foundry:phi-4-mini or ollama:phi4-mini.`;
}
