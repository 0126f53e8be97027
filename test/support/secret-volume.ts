import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'fs';
import { join } from 'path';

// A Secret volume as the kubelet keeps it (pkg/volume/secret/secret.go and pkg/volume/util/atomic_writer.go): the
// payload lands in a new hidden folder named after the UTC time (`..2026_01_31_12_00_00.<random>`), a link
// `..data_tmp` to it is renamed over `..data` (one rename swaps every key at once), each key is a link
// `<key> -> ..data/<key>`, keys gone from the payload lose their links, and the old folder is removed. An unchanged
// payload writes nothing. An absent Secret with `optional: true` is an empty payload; without it the mount fails.

/** How the pod's volume mounts the Secret (the volume's `secret` field). */
export interface SecretVolumeOptions {
  /** The mount of an absent Secret succeeds, empty. @default false */
  readonly optional?: boolean;
  /** Each file's mode (`defaultMode`; the API's own default is 0644). @default 0o440, as the unseal CronJob's volume sets it */
  readonly mode?: number;
  /** Only these keys, each at its path (`items`); a listed key the Secret lacks fails the mount unless optional. */
  readonly items?: ReadonlyArray<{ readonly key: string; readonly path: string; readonly mode?: number }>;
  /** The volume's name, which the kubelet's mount errors quote. @default the Secret's name */
  readonly volume?: string;
}

export const DEFAULT_SECRET_FILE_MODE = 0o440;

interface File { readonly content: Buffer; readonly mode: number }

/** The files a mount of `data` (undefined: no such Secret) holds, or the kubelet's error. */
export function secretPayload(secretName: string, data: Record<string, Buffer> | undefined, options: SecretVolumeOptions = {}): Map<string, File> {
  const mode = options.mode ?? DEFAULT_SECRET_FILE_MODE;
  if (!data) {
    if (options.optional) return new Map();
    throw new Error(`MountVolume.SetUp failed for volume "${options.volume ?? secretName}" : secret "${secretName}" not found`);
  }
  const payload = new Map<string, File>();
  if (!options.items) {
    for (const [key, content] of Object.entries(data)) payload.set(key, { content, mode });
    return payload;
  }
  for (const item of options.items) {
    if (!(item.key in data)) {
      if (options.optional) continue;
      throw new Error(`MountVolume.SetUp failed for volume "${options.volume ?? secretName}" : references non-existent secret key: ${item.key}`);
    }
    payload.set(item.path, { content: data[item.key], mode: item.mode ?? mode });
  }
  return payload;
}

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** The payload now visible in `dir`, or undefined when nothing was ever written there. */
function current(dir: string): Map<string, File> | undefined {
  if (!existsSync(join(dir, DATA))) return undefined;
  const folder = join(dir, readlinkSync(join(dir, DATA)));
  const files = new Map<string, File>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(folder, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else files.set(path, { content: readFileSync(join(folder, path)), mode: lstatSync(join(folder, path)).mode & 0o777 });
    }
  };
  walk('');
  return files;
}

function same(a: Map<string, File>, b: Map<string, File>): boolean {
  return a.size === b.size && [...a].every(([path, f]) => b.has(path) && b.get(path)!.mode === f.mode && b.get(path)!.content.equals(f.content));
}

const timestamp = () => new Date().toISOString().replace(/[-T:]/g, '_').replace(/\.\d+Z$/, '.');

/** Writes `payload` into `dir` as the atomic writer does; returns false when it was there already (nothing written). */
export function writeAtomically(dir: string, payload: Map<string, File>): boolean {
  mkdirSync(dir, { recursive: true });
  const old = current(dir);
  if (old && same(old, payload)) return false;
  const oldFolder = old ? readlinkSync(join(dir, DATA)) : undefined;
  const folder = mkdtempSync(join(dir, `..${timestamp()}`));
  chmodSync(folder, 0o755);
  for (const [path, file] of payload) {
    mkdirSync(join(folder, path, '..'), { recursive: true });
    writeFileSync(join(folder, path), file.content);
    chmodSync(join(folder, path), file.mode);
  }
  rmSync(join(dir, DATA_TMP), { force: true });
  symlinkSync(folder.slice(dir.length + 1), join(dir, DATA_TMP));
  renameSync(join(dir, DATA_TMP), join(dir, DATA));
  // The visible names are the payload's first path segments, each a link through `..data`.
  const visible = new Set([...payload.keys()].map((p) => p.split('/')[0]));
  for (const name of visible) {
    if (!existsSync(join(dir, name)) && !isLink(join(dir, name))) symlinkSync(join(DATA, name), join(dir, name));
  }
  for (const name of new Set([...(old?.keys() ?? [])].map((p) => p.split('/')[0]))) {
    if (!visible.has(name)) unlinkSync(join(dir, name));
  }
  if (oldFolder) rmSync(join(dir, oldFolder), { recursive: true, force: true });
  return true;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
