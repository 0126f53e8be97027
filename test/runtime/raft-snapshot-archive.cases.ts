import { createHash } from 'crypto';
import { isNotASnapshot, SnapshotArchiveCheck } from '../../runtime/raft-snapshot/archive';
import { tarHeader } from '../support/fake-raft-snapshot';

// The archive check alone, fed tar bytes in chunks of every size: what raft-snapshot writes passes, in USTAR or with a
// PAX header in front of a member (which Go's archive/tar writes when a field does not fit USTAR); anything else fails.

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
const member = (name: string, data: Buffer, type = '0') => Buffer.concat([tarHeader(name, data.length, type), data, pad(data.length)]);
const pax = (records: Record<string, string>) => {
  const body = Buffer.from(Object.entries(records).map(([k, v]) => {
    const text = ` ${k}=${v}\n`;
    let length = text.length + 1;
    while (String(length).length + text.length !== length) length = String(length).length + text.length;
    return `${length}${text}`;
  }).join(''));
  return member('PaxHeaders/state.bin', body, 'x');
};

function archive(state: Buffer, options: { paxFor?: boolean; sums?: string; sealed?: Buffer | null } = {}): Buffer {
  const meta = Buffer.from(JSON.stringify({ Index: 7, Term: 2, Size: state.length }));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const sums = Buffer.from(options.sums ?? `${sha(state)}  state.bin\n${sha(meta)}  meta.json\n`);
  return Buffer.concat([
    member('meta.json', meta),
    ...(options.paxFor ? [pax({ path: 'state.bin', size: String(state.length) }), member('ignored-name', state)] : [member('state.bin', state)]),
    member('SHA256SUMS', sums),
    ...(options.sealed === null ? [] : [member('SHA256SUMS.sealed', options.sealed ?? Buffer.from('sealed by the barrier'))]),
    Buffer.alloc(1024),
  ]);
}

function check(bytes: Buffer, chunk: number) {
  const c = new SnapshotArchiveCheck();
  for (let i = 0; i < bytes.length; i += chunk) c.feed(bytes.subarray(i, i + chunk));
  return c.finish();
}

test.each([1, 7, 512, 4096, 1 << 20])('a snapshot in chunks of %i bytes passes, its Raft index and data size read', (chunk) => {
  const state = Buffer.from('x'.repeat(3000));
  expect(check(archive(state), chunk)).toEqual({ index: 7, term: 2, dataBytes: 3000 });
});

test('a PAX header naming the next member is honoured', () => {
  expect(check(archive(Buffer.from('abc'), { paxFor: true }), 100).dataBytes).toBe(3);
});

test.each([
  ['a sum for another content', { sums: `${'1'.repeat(64)}  state.bin\n` }, /SHA256SUMS lists no sum for meta\.json|differs from SHA256SUMS/],
  ['a malformed SHA256SUMS', { sums: 'not a sum\n' }, /SHA256SUMS has a line that is not/],
  ['an empty SHA256SUMS', { sums: '' }, /SHA256SUMS is empty/],
  // Vault's client refuses it (ErrIncompleteSnapshot), so a restore from it would fail when it is needed.
  ['an archive without SHA256SUMS.sealed', { sealed: null }, /no SHA256SUMS\.sealed in the archive/],
  ['an empty SHA256SUMS.sealed', { sealed: Buffer.alloc(0) }, /SHA256SUMS\.sealed is empty/],
])('refuses %s', (_name, options, message) => {
  let error: unknown;
  try { check(archive(Buffer.from('abc'), options), 512); } catch (e) { error = e; }
  expect(isNotASnapshot(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
});

test('refuses an archive cut before its end, and a header with a wrong checksum', () => {
  const whole = archive(Buffer.from('abc'));
  expect(() => check(whole.subarray(0, whole.length - 1024), 512)).toThrow(/no end-of-archive block/);
  const bad = Buffer.from(whole);
  bad[0] ^= 1;
  expect(() => check(bad, 512)).toThrow(/wrong checksum/);
});
