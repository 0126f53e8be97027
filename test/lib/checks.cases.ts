import { checkCron, checkDocumentUrl, checkPromDuration, promDurationSeconds } from '../../lib/checks';

describe('checkCron', () => {
  test.each([
    '* * * * *', '0 * * * *', '30 2 * * *', '*/15 0-23/2 1,15 1-12 0-6', '5/10 * * * *', '59 23 31 12 6', '0 0 1 1 0',
  ])('accepts %s', (cron) => {
    expect(checkCron('X schedule', cron)).toBe(cron);
  });

  test.each([
    ['a minute of 60', '60 * * * *'], ['an hour of 24', '* 24 * * *'], ['a day of month 0', '* * 0 * *'],
    ['a month 13', '* * * 13 *'], ['a day of week 7', '* * * * 7'], ['a backward range', '5-1 * * * *'],
    ['a zero step', '*/0 * * * *'], ['four fields', '* * * *'], ['six fields', '0 * * * * *'], ['a macro', '@daily'],
    ['a day name', '0 0 * * MON'], ['an empty list item', '1,,2 * * * *'], ['a negative value', '-1 * * * *'],
    ['a number', 5 as unknown as string],
  ])('rejects %s', (_case, cron) => {
    expect(() => checkCron('X schedule', cron)).toThrow(
      `invalid X schedule: got ${JSON.stringify(cron)}, expected five cron fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12, day of week 0-6)`,
    );
  });
});

describe('Prometheus durations', () => {
  test.each<[string, number]>([['10m', 600], ['1h30m', 5400], ['90m', 5400], ['1d', 86400], ['1w2d', 777600], ['45s', 45]])(
    '%s is %d seconds', (value, seconds) => {
      expect(promDurationSeconds(value)).toBe(seconds);
    },
  );

  test.each(['', '1h 30m', '1m1h', '5ms', '1y', '10', 'ten minutes'])('"%s" is not a duration this project writes', (value) => {
    expect(promDurationSeconds(value)).toBeNaN();
    expect(() => checkPromDuration('X for', value, 60, 3600)).toThrow(`invalid X for: got ${JSON.stringify(value)}, expected a Prometheus duration`);
  });

  test('a duration outside the range is refused', () => {
    expect(checkPromDuration('X for', '1m', 60, 3600)).toBe('1m');
    expect(() => checkPromDuration('X for', '59s', 60, 3600)).toThrow('from 60s to 3600s');
    expect(() => checkPromDuration('X for', '61m', 60, 3600)).toThrow('invalid X for: got "61m"');
  });
});

describe('checkDocumentUrl', () => {
  test('accepts an http(s) address of a document', () => {
    const url = 'https://git.example.com/homelab/homelab-secrets/src/branch/main/README.md';
    expect(checkDocumentUrl('X url', url)).toBe(url);
  });

  test.each(['README.md', 'ftp://example.com/README.md', 'https://example.com/README.md#alerts', 'https://example.com/a b'])(
    'rejects %s', (url) => {
      expect(() => checkDocumentUrl('X url', url)).toThrow(`invalid X url: got ${JSON.stringify(url)}, expected an http(s) URL without "#"`);
    },
  );
});
