/**
 * A conversation's earlier messages, cut to what fits the model's context with the new
 * question and the answer's token budget: the most recent whole exchanges are kept, the
 * oldest are left out (and counted, so the page can say so). A question that does not fit
 * on its own is left to the engine, which refuses it with its own one-line error. Where the
 * context size is not known (a model behind another server), nothing is left out: that server
 * knows its context and answers for it.
 */

import type { ChatMessage, Engine } from '../engines/spec.js';
import { estimateTokens } from '../measure/token-estimate.js';

/** Tokens a chat template adds around each message (role markers, separators), at most. */
const TEMPLATE_TOKENS_PER_MESSAGE = 8;
/** Room kept for the template's own start and the generation prompt. */
const TEMPLATE_RESERVE_TOKENS = 32;

export interface FittedHistory {
  messages: ChatMessage[];
  /** Earlier messages left out because they did not fit. */
  droppedMessages: number;
}

export async function fitHistory(
  engine: Pick<Engine, 'info' | 'countTokens'>,
  history: readonly ChatMessage[],
  question: string,
  maxTokens: number,
): Promise<FittedHistory> {
  const contextSize = engine.info.contextSize;
  if (contextSize === undefined) return { messages: [...history], droppedMessages: 0 };
  const count = async (text: string) =>
    engine.countTokens === undefined ? estimateTokens(text) : await engine.countTokens(text);
  let room =
    contextSize -
    maxTokens -
    TEMPLATE_RESERVE_TOKENS -
    (await count(question)) -
    TEMPLATE_TOKENS_PER_MESSAGE;
  // Walk back from the newest message; keep an answer only with the question it answers.
  let kept = history.length;
  for (let index = history.length - 1; index >= 0; index -= 1) {
    const message = history[index] as ChatMessage;
    const cost = (await count(message.content)) + TEMPLATE_TOKENS_PER_MESSAGE;
    if (cost > room) break;
    room -= cost;
    if (message.role === 'user') kept = index;
  }
  return { messages: history.slice(kept), droppedMessages: kept };
}
