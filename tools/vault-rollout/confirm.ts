// The operator's yes to a replacement that interrupts Vault (a single pod), asked on the terminal. Without a terminal
// (a pipe, CI) nothing is asked and the answer is no: the downtime is accepted only by someone who saw it stated, or
// by --yes.
import { createInterface } from 'readline';

/** Resolves to whether the operator accepted `question`; the tests answer for them. */
export type Confirm = (question: string) => Promise<boolean>;

/** Asks on the terminal, the question written to the run's output (`log`). */
export const terminalConfirm = (log: (line: string) => void): Confirm => async (question) => {
  if (!process.stdin.isTTY) return false;
  log(`${question} [y/N]`);
  const rl = createInterface({ input: process.stdin });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
};
