import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildSync } from 'esbuild';
import { NODE_SCRIPT } from '../../../build/bundle';
import { runBudget } from '../../../runtime/common/budget';
import { runNode } from '../../support/run-script';

/** A script whose main is `body`, bundled with the real `start` as the scripts in dist/ are. */
function scriptWith(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'start-'));
  const outfile = join(dir, 'script.js');
  buildSync({
    stdin: { contents: `import { start, whileHolding } from './runtime/common/main';\nvoid whileHolding;\nstart(async () => { ${body} });`, resolveDir: join(__dirname, '..', '..', '..'), loader: 'ts' },
    bundle: true, ...NODE_SCRIPT, outfile, logLevel: 'silent',
  });
  return outfile;
}

test.concurrent('main settling with a code: the process exits with it', async () => {
  const run = await runNode(scriptWith('console.log("done"); return 0;'), {});
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 0, stdout: 'done\n', stderr: '' });
});

test.concurrent('the event loop emptying before main settles: exit 1 with a line saying so, never a silent 0', async () => {
  const run = await runNode(scriptWith('return new Promise<number>(() => undefined);'), {});
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toBe('the run ended without an outcome (a call never settled): exiting 1; the next run tries again\n');
});

test.concurrent('main throwing: exit 1 with the reason', async () => {
  const run = await runNode(scriptWith('throw new Error("boom");'), {});
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: 'unexpected error: boom\n' });
});

test.concurrent.each([['SIGTERM', 143], ['SIGINT', 130]])('%s: exit %i at once, naming the signal', async (signal, code) => {
  const file = scriptWith('console.log("started"); return new Promise<number>((resolve) => setTimeout(() => resolve(0), 60000));');
  const run = await runNode(file, {}, { onSpawn: (child) => child.stdout!.once('data', () => child.kill(signal as NodeJS.Signals)) });
  expect(run.code).toBe(code);
  expect(run.stderr).toMatch(new RegExp(`^stopped by ${signal} before the run finished`));
});

test.concurrent('a stop signal while holding (shares in memory, a root token to revoke) waits for the hold to end, then stops', async () => {
  // As a script's attempt does: the hold's end throws the stop, which the attempt logs as its outcome (runScript).
  const hold = (fail: boolean) => `console.log("started"); try { await whileHolding("revoking a token", () => new Promise<void>((resolve, reject) => setTimeout(() => { console.log("revoked"); ${fail ? 'reject(new Error("the escrow, printed: abc"))' : 'resolve()'}; }, 1500))); console.log("after"); } catch (e) { console.error((e as Error).message); } return 0;`;
  const stoppedWhileHolding = (fail: boolean) => runNode(scriptWith(hold(fail)), {}, { onSpawn: (child) => child.stdout!.once('data', () => child.kill('SIGTERM')) });
  const [stopped, failed] = await Promise.all([stoppedWhileHolding(false), stoppedWhileHolding(true)]);
  expect([stopped.code, stopped.stdout]).toEqual([143, 'started\nrevoked\n']);
  expect(stopped.stderr).toBe('SIGTERM while revoking a token: stopping as soon as that is done\nstopped by SIGTERM after revoking a token: the next run goes on from there\n');
  // A hold that fails says why, whatever the signal: its message may be the one copy of something (the escrow).
  expect([failed.code, failed.stderr]).toEqual([143, 'SIGTERM while revoking a token: stopping as soon as that is done\nthe escrow, printed: abc\n']);
});

test('runBudget: each call gets the smaller of the timeout and what the run has left, then none', async () => {
  let now = 0;
  const budget = runBudget(5000, 12000, () => now);
  expect(budget.callMs()).toBe(5000);
  now = 9000;
  expect(budget.callMs()).toBe(3000);
  expect(budget.leftMs()).toBe(3000);
  now = 12000;
  expect(budget.leftMs()).toBe(0);
  expect(() => budget.callMs()).toThrow('the run reached its deadline of 12 s');
});
