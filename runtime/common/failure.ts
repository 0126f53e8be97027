// The scripts' one way to fail: an error that carries the exit code it ends the run with, turned into an outcome at
// the edge of each attempt. Exit 1: not yet (a call failed, hung or answered wrongly; the next run retries). Exit 2:
// a human is needed (no token, forbidden, not found, a malformed setting, shares Vault rejects).
import { reason } from './log';
import { finished, Outcome, retry } from './retry';

export class RunError extends Error {
  constructor(message: string, public readonly exitCode: 1 | 2, public readonly status?: number) {
    super(message);
  }
}

/** A failure the next run may not have: exit 1 if the window closes on it. */
export const notYet = (message: string, status?: number): RunError => new RunError(message, 1, status);

/** A failure no retry cures: exit 2 at once. */
export const needsHuman = (message: string, status?: number): RunError => new RunError(message, 2, status);

/** The outcome of an attempt that threw: a human needed ends the run; anything else is retried. */
export function outcomeOf(error: unknown): Outcome {
  return error instanceof RunError && error.exitCode === 2 ? finished(error.message, 2) : retry(reason(error));
}
