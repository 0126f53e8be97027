import { Budget, runBudget } from './budget';
import { RunError } from './failure';
import { Log, logTo, processOutput, reason } from './log';
import { Outcome, withinWindow } from './retry';
import { Env, RetrySettings } from './settings';

/**
 * Runs a script: reads its settings (a malformed one ends the run at once, exit 2), then makes attempts inside the
 * retry window until the run's deadline, logging each new reason to wait and the final outcome on one line. Resolves
 * to the exit code.
 */
export async function runScript<S extends RetrySettings>(
  env: Env, readSettings: (env: Env) => S, attempt: (settings: S, budget: Budget) => Promise<Outcome>, { log, logError }: Log,
): Promise<number> {
  let settings: S;
  try {
    settings = readSettings(env);
  } catch (error) {
    logError(reason(error));
    return 2;
  }
  const budget = runBudget(settings.timeoutMs, settings.deadlineMs);
  let lastWait = '';
  const outcome = await withinWindow(() => attempt(settings, budget), {
    windowMs: settings.windowMs,
    intervalMs: settings.intervalMs,
    runLeftMs: budget.leftMs,
    onRetry: (o) => {
      if (o.message !== lastWait) log(`waiting: ${o.message}`);
      lastWait = o.message;
    },
  });
  (outcome.exitCode === 0 ? log : logError)(outcome.message);
  return outcome.exitCode;
}

/** main's exit code; a main that throws is exit 1 with the reason on one line. */
export function settle(main: () => Promise<number>, { logError }: Log): Promise<number> {
  return main().catch((error) => {
    logError(`unexpected error: ${reason(error)}`);
    return 1;
  });
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** What the run holds that a stop signal must not cut (shares only in memory, a root token to revoke), if anything. */
let holding: string | undefined;
/** A stop signal that came while holding: obeyed once the hold ends and the run has said its outcome. */
let deferred: string | undefined;

/**
 * Runs `work` with stop signals deferred until it ends: Kubernetes follows its SIGTERM with SIGKILL only after the
 * pod's grace period (30 s by default), time enough to store shares or revoke a token; cutting that work instead would
 * lose the shares or leave a root token valid. A signal that came meanwhile ends the run once the hold ends: its
 * failure (with whatever it must say, such as the escrow it prints) or "stopped", as an outcome the run logs (exit 2,
 * so no retry), then the process exits with the signal's code. Outside `start` (a test's process) it only runs `work`.
 */
export async function whileHolding<T>(what: string, work: () => Promise<T>): Promise<T> {
  const outer = holding;
  holding = what;
  let result: T;
  try {
    result = await work();
  } catch (error) {
    holding = outer;
    if (holding === undefined && deferred) throw new RunError(reason(error), 2);
    throw error;
  }
  holding = outer;
  if (holding === undefined && deferred) throw new RunError(`stopped by ${deferred} after ${what}: the next run goes on from there`, 2);
  return result;
}

/**
 * Runs `main` as the process's entry point and exits with its code. Exit 0 only ever follows main's final line: a
 * run stopped by a signal, or one whose event loop empties before main settles, exits non-zero saying so.
 */
export function start(main: () => Promise<number>): void {
  const log = logTo(processOutput);
  const { logError } = log;
  let settled = false;
  for (const signal of Object.keys(SIGNAL_EXIT)) {
    // As PID 1 in the pod, node ignores SIGTERM unless it handles it: Kubernetes' deadline would wait for SIGKILL.
    process.on(signal, () => {
      if (holding === undefined) {
        logError(`stopped by ${signal} before the run finished (the Job's deadline, or a human): the next run starts over`);
        process.exit(SIGNAL_EXIT[signal]);
      }
      logError(`${signal} while ${holding}: stopping as soon as that is done`);
      deferred = deferred ?? signal;
    });
  }
  process.on('beforeExit', () => {
    if (settled) return;
    logError('the run ended without an outcome (a call never settled): exiting 1; the next run tries again');
    process.exit(1);
  });
  void settle(main, log).then((code) => {
    settled = true;
    process.exit(deferred ? SIGNAL_EXIT[deferred] : code);
  });
}

/**
 * Runs a long-lived `main` (a sidecar's loop) as the process's entry point. SIGTERM and SIGINT, with which Kubernetes
 * stops a pod's containers, are not failures here: they abort the signal main is given, and the process exits with
 * main's code once main has stopped. An event loop that empties before main settles is exit 1, as with `start`.
 */
export function startService(main: (stop: AbortSignal) => Promise<number>): void {
  const log = logTo(processOutput);
  const stop = new AbortController();
  let settled = false;
  for (const signal of Object.keys(SIGNAL_EXIT)) process.on(signal, () => stop.abort(signal));
  process.on('beforeExit', () => {
    if (settled) return;
    log.logError('the service ended without an outcome (a call never settled): exiting 1');
    process.exit(1);
  });
  void settle(() => main(stop.signal), log).then((code) => {
    settled = true;
    process.exit(code);
  });
}
