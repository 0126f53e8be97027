import { log, logError, reason } from './log';
import { Outcome, withinWindow } from './retry';
import { Env, RetrySettings } from './settings';

/**
 * Runs a script: reads its settings (a malformed one ends the run at once, exit 2), then makes attempts inside the
 * retry window, logging each new reason to wait and the final outcome on one line. Resolves to the exit code.
 */
export async function runScript<S extends RetrySettings>(
  env: Env, readSettings: (env: Env) => S, attempt: (settings: S) => Promise<Outcome>,
): Promise<number> {
  let settings: S;
  try {
    settings = readSettings(env);
  } catch (error) {
    logError(reason(error));
    return 2;
  }
  let lastWait = '';
  const outcome = await withinWindow(() => attempt(settings), {
    windowMs: settings.windowMs,
    intervalMs: settings.intervalMs,
    onRetry: (o) => {
      if (o.message !== lastWait) log(`waiting: ${o.message}`);
      lastWait = o.message;
    },
  });
  (outcome.exitCode === 0 ? log : logError)(outcome.message);
  return outcome.exitCode;
}

/** Runs `main` as the process's entry point and exits with its code. */
export function start(main: () => Promise<number>): void {
  main().then((code) => process.exit(code), (error) => {
    logError(`unexpected error: ${reason(error)}`);
    process.exit(1);
  });
}
