/**
 * Finds stop sequences in streamed text. Text that might be the start of a stop sequence is
 * held back until it is known not to be, so a stop string never reaches the caller.
 */
export class StopSequenceMatcher {
  #held = '';
  #stopped = false;
  readonly #stops: readonly string[];

  constructor(stops: readonly string[] = []) {
    this.#stops = stops.filter((stop) => stop.length > 0);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Adds text; returns the part that is safe to emit now. */
  push(text: string): string {
    if (this.#stopped) return '';
    if (this.#stops.length === 0) return text;
    const combined = this.#held + text;
    let cut = -1;
    for (const stop of this.#stops) {
      const index = combined.indexOf(stop);
      if (index >= 0 && (cut < 0 || index < cut)) cut = index;
    }
    if (cut >= 0) {
      this.#stopped = true;
      this.#held = '';
      return combined.slice(0, cut);
    }
    const holdLength = this.#longestSuffixThatStartsAStop(combined);
    this.#held = combined.slice(combined.length - holdLength);
    return combined.slice(0, combined.length - holdLength);
  }

  /** At the end of generation: whatever was held back is real text. */
  flush(): string {
    const rest = this.#stopped ? '' : this.#held;
    this.#held = '';
    return rest;
  }

  #longestSuffixThatStartsAStop(text: string): number {
    let longest = 0;
    for (const stop of this.#stops) {
      const maximum = Math.min(stop.length - 1, text.length);
      for (let length = maximum; length > longest; length--) {
        if (stop.startsWith(text.slice(text.length - length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
