import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Statfs } from '../common/io';

// The snapshot folder on the job's claim: complete snapshots only, named by the time they were taken so that names
// sort oldest first, each with a `.sha256` beside it in sha256sum's format. A snapshot is written under a hidden
// temporary name and renamed when it is complete and on disk: a run killed halfway leaves a temporary file (removed
// by the next run), never a truncated snapshot under a snapshot's name.

const SNAPSHOT = /^vault-raft-(\d{8}T\d{6}Z)\.snap$/;
const TEMPORARY = /^\.vault-raft-.*\.partial$/;

/** A snapshot's file name for the time `at`: vault-raft-20261127T113421Z.snap. */
export function snapshotName(at: Date): string {
  return `vault-raft-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}.snap`;
}

/** The snapshots in `dir`, oldest first. */
export function listSnapshots(dir: string): string[] {
  return readdirSync(dir).filter((name) => SNAPSHOT.test(name)).sort();
}

/** Removes what killed runs left behind; returns the names removed. */
export function removeLeftovers(dir: string): string[] {
  const leftovers = readdirSync(dir).filter((name) => TEMPORARY.test(name));
  for (const name of leftovers) unlinkSync(join(dir, name));
  return leftovers;
}

/** Opens a new temporary file in `dir` for the snapshot `name`; returns its path and descriptor. */
export function openTemporary(dir: string, name: string): { path: string; fd: number } {
  const path = join(dir, `.${name}.${process.pid}.partial`);
  // 'wx': never write into a file that exists.
  return { path, fd: openSync(path, 'wx', 0o640) };
}

/** Flushes a directory's entries to disk, so that a rename in it survives a crash. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes the complete, flushed temporary file the snapshot `name`, and writes its sum beside it. The rename is the
 * moment the snapshot exists.
 */
export function publish(dir: string, temporary: string, name: string, sha256: string): void {
  const sums = join(dir, `.${name}.sha256.${process.pid}.partial`);
  writeFileSync(sums, `${sha256}  ${name}\n`, { mode: 0o640 });
  renameSync(temporary, join(dir, name));
  renameSync(sums, join(dir, `${name}.sha256`));
  syncDir(dir);
}

/** Deletes the oldest snapshots (and their sums) beyond the newest `keep`; returns the names deleted. */
export function prune(dir: string, keep: number): string[] {
  const snapshots = listSnapshots(dir);
  const old = snapshots.slice(0, Math.max(0, snapshots.length - keep));
  for (const name of old) {
    unlinkSync(join(dir, name));
    try { unlinkSync(join(dir, `${name}.sha256`)); } catch { /* written by an older run without one */ }
  }
  if (old.length > 0) syncDir(dir);
  return old;
}

/**
 * Why the next snapshot cannot fit, judged by the newest one's size plus a tenth against the free space `statfs`
 * reports, or undefined when it can (or when there is none yet to judge by). Checked before downloading, so a full
 * claim costs no transfer.
 */
export function spaceProblem(dir: string, statfs: Statfs): string | undefined {
  const newest = listSnapshots(dir).pop();
  if (!newest) return undefined;
  const size = statSync(join(dir, newest)).size;
  const { bavail, bsize } = statfs(dir);
  const free = Number(bavail) * Number(bsize);
  if (free >= size * 1.1) return undefined;
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `the snapshot claim at ${dir} has ${mb(free)} free and the last snapshot took ${mb(size)}: lower SNAPSHOT_KEEP or grow the claim (it must hold the snapshots kept plus one); nothing downloaded`;
}

/** Bytes held by the snapshots in `dir`. */
export function snapshotBytes(dir: string): number {
  return listSnapshots(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}
