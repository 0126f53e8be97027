import { readManifests } from '../../tools/vault-setup/manifests';

const parsed = new Map<string, ReturnType<typeof readManifests>>();

/**
 * The documents of a committed dist/ folder, as the tools read them (readManifests), parsed once per jest file:
 * shared by every caller, so only for callers that read them and never change them.
 */
export function distDocs(dir: string): ReturnType<typeof readManifests> {
  return parsed.get(dir) ?? parsed.set(dir, readManifests(dir)).get(dir)!;
}
