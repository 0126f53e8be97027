// One run keeps trying inside its window, so a CronJob that runs every minute acts within seconds of the condition it
// waits for instead of at the next schedule.

/** What one attempt found: `done` ends the run with `exitCode`; otherwise the run tries again while its window lasts. */
export interface Outcome {
  readonly done: boolean;
  readonly exitCode: number;
  readonly message: string;
  /** How soon to try again, when sooner than the interval (a run waiting for an answer it has asked for). */
  readonly againInMs?: number;
}

export const finished = (message: string, exitCode = 0): Outcome => ({ done: true, exitCode, message });
/** Not done yet: try again while the window lasts; `exitCode` applies if the window closes on this outcome. */
export const retry = (message: string, exitCode = 1, againInMs?: number): Outcome =>
  (againInMs === undefined ? { done: false, exitCode, message } : { done: false, exitCode, message, againInMs });

export interface RetryOptions {
  readonly windowMs: number;
  readonly intervalMs: number;
  /** Called with the outcome of each attempt that will be retried. */
  readonly onRetry?: (outcome: Outcome) => void;
  /** What the run has left before its deadline; no attempt starts after it. */
  readonly runLeftMs?: () => number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it is done or the window closes; returns the last outcome. */
export async function withinWindow(attempt: () => Promise<Outcome>, options: RetryOptions): Promise<Outcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const deadline = now() + options.windowMs;
  for (;;) {
    const outcome = await attempt();
    if (outcome.done) return outcome;
    const left = Math.min(deadline - now(), options.runLeftMs?.() ?? Infinity);
    if (left <= 0) return outcome;
    options.onRetry?.(outcome);
    await sleep(Math.min(outcome.againInMs ?? options.intervalMs, options.intervalMs, left));
  }
}
