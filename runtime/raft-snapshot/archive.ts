import { createHash, Hash } from 'crypto';

// Checks, while it streams, that a body is what Vault's GET sys/storage/raft/snapshot sends: a gzip-compressed tar
// (hashicorp/raft-snapshot, archive.go and snapshot.go) holding meta.json (Raft's snapshot metadata), state.bin (the
// data, meta.json's Size bytes), SHA256SUMS (the SHA-256 of both) and SHA256SUMS.sealed (the sums sealed by Vault's
// barrier, which raft-snapshot's archive.go always writes; Vault's own client refuses an archive without it as
// ErrIncompleteSnapshot, api/sys_raft.go, and a restore would too). The data is hashed as it passes and never held:
// only the small files are kept, capped.

const BLOCK = 512;
/** The small members are a few hundred bytes; raft-snapshot itself reads at most 8 KB of each. */
const SMALL_MEMBER_MAX = 64 * 1024;
const KNOWN = ['meta.json', 'state.bin', 'SHA256SUMS', 'SHA256SUMS.sealed'];
const HASHED = ['meta.json', 'state.bin'];

/** What a complete, verified snapshot holds. */
export interface SnapshotSummary {
  /** The Raft index the snapshot was taken at (meta.json's Index). */
  readonly index: number;
  /** The Raft term (meta.json's Term). */
  readonly term: number;
  /** The bytes of state.bin. */
  readonly dataBytes: number;
}

class NotASnapshot extends Error {}

function notSnapshot(why: string): never {
  throw new NotASnapshot(`not a Vault Raft snapshot: ${why}`);
}

/** A NUL-terminated string field of a tar header. */
function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** A numeric field: octal, or base-256 when its first byte has the high bit set (GNU, for sizes of 8 GiB and more). */
function number(block: Buffer, start: number, length: number): number {
  const raw = block.subarray(start, start + length);
  if (raw[0] & 0x80) {
    let value = raw[0] & 0x7f;
    for (const byte of raw.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = raw.toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]*$/.test(text)) notSnapshot(`a tar header with a malformed number "${text}"`);
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumMatches(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === number(block, 148, 8);
}

/** PAX extended-header records ("<length> <key>=<value>\n"): the ones that change the next member. */
function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(length) || length <= 0 || at + length > data.length) notSnapshot('a malformed PAX header');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    records[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return records;
}

interface Member {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  left: number;
  readonly hash?: Hash;
  readonly kept?: Buffer[];
}

/** Feed it the decompressed tar, chunk by chunk; `finish` verifies what it saw. Throws on the first sign of trouble. */
export class SnapshotArchiveCheck {
  private header = Buffer.alloc(0);
  private member?: Member;
  private padding = 0;
  private ended = false;
  private pax: Record<string, string> = {};
  private readonly hashes = new Map<string, string>();
  private readonly sizes = new Map<string, number>();
  private readonly small = new Map<string, Buffer>();

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.padding > 0) {
        const skip = Math.min(this.padding, chunk.length - at);
        this.padding -= skip;
        at += skip;
      } else if (this.member) {
        const take = Math.min(this.member.left, chunk.length - at);
        const part = chunk.subarray(at, at + take);
        this.member.hash?.update(part);
        this.member.kept?.push(Buffer.from(part));
        this.member.left -= take;
        at += take;
        if (this.member.left === 0) this.close(this.member);
      } else {
        const take = Math.min(BLOCK - this.header.length, chunk.length - at);
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + take)]);
        at += take;
        if (this.header.length === BLOCK) {
          const block = this.header;
          this.header = Buffer.alloc(0);
          this.open(block);
        }
      }
    }
  }

  private open(block: Buffer): void {
    if (this.ended) {
      // After the end-of-archive block only zero blocks may follow.
      if (block.some((b) => b !== 0)) notSnapshot('data after the end of the tar archive');
      return;
    }
    if (block.every((b) => b === 0)) {
      this.ended = true;
      return;
    }
    if (!checksumMatches(block)) notSnapshot('a tar header with a wrong checksum (not a tar archive, or corrupted)');
    const type = String.fromCharCode(block[156] || 0x30);
    const prefix = block.subarray(257, 262).toString('latin1') === 'ustar' ? field(block, 345, 155) : '';
    const name = this.pax.path ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    const size = this.pax.size !== undefined ? Number(this.pax.size) : number(block, 124, 12);
    if (type !== 'x') this.pax = {};
    if (!Number.isSafeInteger(size) || size < 0) notSnapshot(`a tar member "${name}" with a malformed size`);
    if (type === 'x') {
      if (size > SMALL_MEMBER_MAX) notSnapshot('a PAX header larger than 64 KB');
      this.start({ name: '(pax)', type, size, left: size, kept: [] });
      return;
    }
    if (type !== '0') notSnapshot(`a tar member "${name}" of type "${type}", where a snapshot has only files`);
    if (!KNOWN.includes(name)) notSnapshot(`an unexpected file "${name}" in the archive (a snapshot has ${KNOWN.slice(0, 3).join(', ')})`);
    if (this.sizes.has(name)) notSnapshot(`the file "${name}" twice in the archive`);
    if (name !== 'state.bin' && size > SMALL_MEMBER_MAX) notSnapshot(`"${name}" of ${size} bytes, larger than a snapshot's ${name} can be`);
    this.sizes.set(name, size);
    this.start({
      name, type, size, left: size,
      hash: HASHED.includes(name) ? createHash('sha256') : undefined,
      kept: name === 'state.bin' ? undefined : [],
    });
  }

  private start(member: Member): void {
    this.member = member;
    if (member.size === 0) this.close(member);
  }

  private close(member: Member): void {
    this.member = undefined;
    this.padding = (BLOCK - (member.size % BLOCK)) % BLOCK;
    const data = member.kept ? Buffer.concat(member.kept) : undefined;
    if (member.type === 'x') {
      this.pax = paxRecords(data!);
      return;
    }
    if (member.hash) this.hashes.set(member.name, member.hash.digest('hex'));
    if (data) this.small.set(member.name, data);
  }

  /** Called after the last byte: checks that the archive is complete and its sums match. */
  finish(): SnapshotSummary {
    if (this.member || this.header.length > 0 || this.padding > 0) notSnapshot('the tar archive ends in the middle of a member');
    if (!this.ended) notSnapshot('the tar archive has no end-of-archive block (cut short)');
    for (const name of KNOWN) if (!this.sizes.has(name)) notSnapshot(`no ${name} in the archive`);
    for (const name of ['SHA256SUMS', 'SHA256SUMS.sealed']) if (this.sizes.get(name) === 0) notSnapshot(`${name} is empty`);
    let meta: any;
    try {
      meta = JSON.parse(this.small.get('meta.json')!.toString('utf8'));
    } catch {
      notSnapshot('meta.json is not JSON');
    }
    if (meta === null || typeof meta !== 'object' || !Number.isSafeInteger(meta.Index) || !Number.isSafeInteger(meta.Term) || !Number.isSafeInteger(meta.Size)) {
      notSnapshot('meta.json lacks the numbers Index, Term and Size of Raft\'s snapshot metadata');
    }
    const dataBytes = this.sizes.get('state.bin')!;
    if (meta.Size !== dataBytes) notSnapshot(`state.bin holds ${dataBytes} bytes where meta.json says ${meta.Size}`);
    const listed = new Map<string, string>();
    for (const line of this.small.get('SHA256SUMS')!.toString('utf8').split('\n').filter((l) => l !== '')) {
      const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
      if (!match) notSnapshot('SHA256SUMS has a line that is not "<sha256>  <file>"');
      listed.set(match[2], match[1]);
    }
    for (const name of HASHED) {
      if (!listed.has(name)) notSnapshot(`SHA256SUMS lists no sum for ${name}`);
      if (listed.get(name) !== this.hashes.get(name)) notSnapshot(`the SHA-256 of ${name} differs from SHA256SUMS (corrupted)`);
    }
    return { index: meta.Index, term: meta.Term, dataBytes };
  }
}

export function isNotASnapshot(error: unknown): boolean {
  return error instanceof NotASnapshot;
}
