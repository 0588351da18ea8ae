import { InvalidArgumentError } from '../errors.js';
import type { GenerateRequest } from './spec.js';

/** The checks every embedded engine makes before it starts: a prompt, a sane token limit. */
export function validateRequest(request: GenerateRequest): void {
  if (request.messages.length === 0) {
    throw new InvalidArgumentError('The request has no messages: give a prompt.');
  }
  if (
    request.maxTokens !== undefined &&
    (!Number.isInteger(request.maxTokens) || request.maxTokens < 0)
  ) {
    throw new InvalidArgumentError(
      `Invalid maxTokens ${request.maxTokens}: expected a whole number ≥ 0.`,
    );
  }
}
