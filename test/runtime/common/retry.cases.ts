import { finished, Outcome, retry, withinWindow } from '../../../runtime/common/retry';

/** A fake clock: sleeping advances it, and each attempt costs `attemptMs`. */
function clock(attemptMs = 0) {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => { sleeps.push(ms); now += ms; },
    spend: () => { now += attemptMs; },
    sleeps,
  };
}

test('a done outcome ends the run at once', async () => {
  const c = clock();
  const attempt = jest.fn(async () => finished('unsealed'));
  expect(await withinWindow(attempt, { windowMs: 10000, intervalMs: 1000, now: c.now, sleep: c.sleep })).toEqual(finished('unsealed'));
  expect(attempt).toHaveBeenCalledTimes(1);
});

test('a window of 0 makes exactly one attempt', async () => {
  const c = clock();
  const attempt = jest.fn(async () => retry('port closed'));
  const outcome = await withinWindow(attempt, { windowMs: 0, intervalMs: 1000, now: c.now, sleep: c.sleep });
  expect(outcome).toEqual({ done: false, exitCode: 1, message: 'port closed' });
  expect(attempt).toHaveBeenCalledTimes(1);
});

test('retries every interval until done, reporting each retry', async () => {
  const c = clock();
  const outcomes: Outcome[] = [retry('sealed'), retry('sealed'), finished('ready')];
  const seen: string[] = [];
  const outcome = await withinWindow(async () => outcomes.shift()!, {
    windowMs: 10000, intervalMs: 2000, now: c.now, sleep: c.sleep, onRetry: (o) => seen.push(o.message),
  });
  expect(outcome.message).toBe('ready');
  expect(c.sleeps).toEqual([2000, 2000]);
  expect(seen).toEqual(['sealed', 'sealed']);
});

test('makes a last attempt at the end of the window, then returns its outcome', async () => {
  const c = clock();
  let attempts = 0;
  const outcome = await withinWindow(async () => { attempts++; return retry(`attempt ${attempts}`); }, {
    windowMs: 5000, intervalMs: 2000, now: c.now, sleep: c.sleep,
  });
  // attempts at 0, 2000, 4000 and, the last sleep cut short, at 5000
  expect(c.sleeps).toEqual([2000, 2000, 1000]);
  expect(attempts).toBe(4);
  expect(outcome.message).toBe('attempt 4');
});

test('a slow attempt uses up the window: no attempt starts after it closes', async () => {
  const c = clock(400);
  let attempts = 0;
  await withinWindow(async () => { attempts++; c.spend(); return retry('sealed'); }, {
    windowMs: 5000, intervalMs: 2000, now: c.now, sleep: c.sleep,
  });
  // attempts at 0, 2400 and 4800; the third ends at 5200, past the window
  expect(c.sleeps).toEqual([2000, 2000]);
  expect(attempts).toBe(3);
});
