// One deadline per run. A run makes several calls per attempt (one per share, two per Deployment); bounding each by
// the timeout alone lets a slow server stretch the run past the Job's deadline, where Kubernetes kills it halfway
// through. So every call is bounded by the smaller of the timeout and what the run has left.
import { notYet } from './failure';

export interface Budget {
  /** How long the next call may take; throws once the run's deadline has passed. */
  callMs(): number;
  /** What the run has left, in ms (0 once the deadline has passed). */
  leftMs(): number;
}

export function runBudget(timeoutMs: number, deadlineMs: number, now: () => number = Date.now): Budget {
  const end = now() + deadlineMs;
  const leftMs = () => Math.max(0, end - now());
  return {
    leftMs,
    callMs: () => {
      const left = leftMs();
      if (left <= 0) throw notYet(`the run reached its deadline of ${deadlineMs / 1000} s`);
      return Math.min(timeoutMs, left);
    },
  };
}
