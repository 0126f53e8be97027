import { createHash } from 'crypto';
import { closeSync, fsync, write } from 'fs';
import { Writable } from 'stream';
import { createGunzip, Gunzip } from 'zlib';
import { SnapshotArchiveCheck, SnapshotSummary } from './archive';

// Where the snapshot's bytes go as they arrive: to the temporary file, into a SHA-256 of the whole file, and through
// gunzip into the archive check. Each chunk is on disk and through gunzip before the next is asked for, so memory
// holds a few chunks whatever the snapshot's size. The file is flushed to disk (fsync) before the sink finishes.

const GZIP_MAGIC = [0x1f, 0x8b];

export interface SinkResult {
  readonly bytes: number;
  readonly sha256: string;
  readonly summary: SnapshotSummary;
}

export class SnapshotSink extends Writable {
  private bytes = 0;
  private readonly hash = createHash('sha256');
  private readonly gunzip: Gunzip = createGunzip();
  private readonly check = new SnapshotArchiveCheck();
  private failure?: Error;
  /** The callback of the write or final step waiting on gunzip. */
  private waiting?: (error?: Error | null) => void;
  private result?: SinkResult;

  /** `fd`: the open temporary file; the sink closes it. */
  constructor(private readonly fd: number) {
    super({ highWaterMark: 256 * 1024 });
    this.gunzip.on('data', (data: Buffer) => {
      try {
        this.check.feed(data);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    this.gunzip.on('error', (error) => this.fail(new Error(`not a Vault Raft snapshot: not a complete gzip stream (${error.message})`)));
  }

  /** The outcome, once the sink has finished. */
  get outcome(): SinkResult {
    if (!this.result) throw new Error('the snapshot sink has not finished');
    return this.result;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(this.failure);
  }

  private writeAll(chunk: Buffer, offset: number, done: (error?: Error | null) => void): void {
    write(this.fd, chunk, offset, chunk.length - offset, null, (error, written) => {
      if (error) return done(error);
      if (offset + written < chunk.length) return this.writeAll(chunk, offset + written, done);
      done();
    });
  }

  _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.failure) return done(this.failure);
    for (let i = this.bytes; i < GZIP_MAGIC.length && i - this.bytes < chunk.length; i++) {
      if (chunk[i - this.bytes] !== GZIP_MAGIC[i]) {
        return done(new Error('not a Vault Raft snapshot: the body does not start as gzip does (1f 8b)'));
      }
    }
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.writeAll(chunk, 0, (error) => {
      if (error) return done(error);
      if (this.failure) return done(this.failure);
      if (this.gunzip.write(chunk)) return done();
      this.waiting = done;
      this.gunzip.once('drain', () => {
        if (this.waiting !== done) return;
        this.waiting = undefined;
        done(this.failure);
      });
    });
  }

  _final(done: (error?: Error | null) => void): void {
    if (this.failure) return done(this.failure);
    if (this.bytes === 0) return done(new Error('not a Vault Raft snapshot: the body is empty'));
    this.waiting = done;
    this.gunzip.once('end', () => {
      if (this.waiting !== done) return;
      this.waiting = undefined;
      let summary: SnapshotSummary;
      try {
        summary = this.check.finish();
      } catch (error) {
        return done(error as Error);
      }
      fsync(this.fd, (error) => {
        if (error) return done(error);
        this.result = { bytes: this.bytes, sha256: this.hash.digest('hex'), summary };
        done();
      });
    });
    this.gunzip.end();
  }

  _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.gunzip.destroy();
    try { closeSync(this.fd); } catch { /* closed already */ }
    done(error);
  }
}
