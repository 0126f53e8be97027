import { readList, readRetrySettings, readSeconds, readString, readUrl } from '../../../runtime/common/settings';

test('defaults apply when a variable is unset', () => {
  expect(readRetrySettings({})).toEqual({ timeoutMs: 5000, windowMs: 40000, intervalMs: 3000, deadlineMs: 50000 });
  expect(readUrl({}, 'VAULT_ADDR', 'http://vault:8200')).toBe('http://vault:8200');
  expect(readList({}, 'ESO_DEPLOYMENTS', ['a'], /^[a-z]+$/)).toEqual(['a']);
});

test('values are parsed: seconds to milliseconds, a trailing slash dropped, lists trimmed', () => {
  expect(readRetrySettings({ VAULT_TIMEOUT_SECONDS: '2.5', RETRY_WINDOW_SECONDS: '0', RETRY_INTERVAL_SECONDS: '1', RUN_DEADLINE_SECONDS: '20' }))
    .toEqual({ timeoutMs: 2500, windowMs: 0, intervalMs: 1000, deadlineMs: 20000 });
  expect(readUrl({ VAULT_ADDR: 'https://vault.example.com:8200/' }, 'VAULT_ADDR', 'x')).toBe('https://vault.example.com:8200');
  expect(readList({ L: ' a, b ,c ' }, 'L', [], /^[a-z]+$/)).toEqual(['a', 'b', 'c']);
});

test.each([
  [() => readSeconds({ T: 'abc' }, 'T', 5, 0.1), 'invalid T: got "abc", expected a number of seconds from 0.1 to 3600'],
  [() => readSeconds({ T: '' }, 'T', 5, 0.1), 'invalid T: got ""'],
  [() => readSeconds({ T: '0' }, 'T', 5, 0.1), 'invalid T: got "0"'],
  [() => readSeconds({ T: 'Infinity' }, 'T', 5, 0.1), 'invalid T: got "Infinity"'],
  [() => readUrl({ U: 'vault:8200' }, 'U', ''), 'invalid U: got "vault:8200", expected an http(s) URL'],
  [() => readUrl({ U: 'http://' }, 'U', ''), 'invalid U: got "http://"'],
  [() => readUrl({ U: 'ftp://vault' }, 'U', ''), 'invalid U: got "ftp://vault"'],
  [() => readString({ S: 'a b' }, 'S', ''), 'invalid S: got "a b"'],
  [() => readRetrySettings({ RETRY_WINDOW_SECONDS: '40', RUN_DEADLINE_SECONDS: '30' }), 'invalid RUN_DEADLINE_SECONDS: got "30", expected at least RETRY_WINDOW_SECONDS (40)'],
  [() => readList({ L: ',' }, 'L', [], /^[a-z]+$/), 'invalid L: got ",", expected a comma-separated list'],
  [() => readList({ L: 'a,B' }, 'L', [], /^[a-z]+$/), 'invalid L: got "a,B"'],
])('rejects a malformed value, naming the variable (%#)', (read, message) => {
  expect(read).toThrow(message);
});
