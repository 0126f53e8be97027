import { readdirSync, statfsSync, statSync } from 'fs';
import { join } from 'path';
import { Statfs } from '../../runtime/common/io';

// A stand-in for the snapshot script's statfs (main's io, given by run-in-process.ts): it reports FAKE_FREE_BYTES
// free, so a full claim can be tested without filling a disk. With FAKE_CLAIM_BYTES instead, the folder asked about
// is a claim of that size: free is that less the bytes of the files in it now, so deleting a file frees its room as
// on a real claim.

/** The statfs for the variables in `env`, answering as the real one for everything but the free space. */
export function fakeStatfs(env: Record<string, string>): Statfs {
  const claim = env.FAKE_CLAIM_BYTES === undefined ? undefined : Number(env.FAKE_CLAIM_BYTES);
  const used = (dir: string) => readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  return (dir) => {
    const stats = statfsSync(dir);
    const free = claim === undefined ? Number(env.FAKE_FREE_BYTES) : Math.max(0, claim - used(dir));
    return Object.assign(Object.create(Object.getPrototypeOf(stats)), stats, { bsize: 4096, bavail: Math.floor(free / 4096) });
  };
}
