// Apply: exactly the writes the plan shows, in its (dependency) order, then Vault is read back and planned again. The
// plan holds no delete, unmount or disable, so neither does apply.
import { reason } from '../log';
import { PlanItem } from './plan';
import { VaultAnswerError, VaultClient } from './vault-client';

const DONE: Record<string, string> = { create: 'created', change: 'changed' };

/** Makes each pending item's write; returns a line per write. A failure names what was already written. */
export async function applyItems(vault: VaultClient, items: PlanItem[]): Promise<string[]> {
  const done: string[] = [];
  for (const item of items) {
    if (!item.write) continue;
    try {
      await vault.write(item.write.method, item.write.path, item.write.body);
    } catch (error) {
      const before = done.length > 0 ? ` (written before it: ${done.map((d) => d.replace(/^applied /, '')).join(', ')})` : ' (nothing written)';
      const message = `apply stopped at ${item.label}: ${reason(error)}${before}`;
      // A denial keeps its status: the caller tells a policy that lacks a path from a failure that may pass.
      throw error instanceof VaultAnswerError ? new VaultAnswerError(message, error.status) : new Error(message);
    }
    done.push(`applied ${item.label}: ${DONE[item.state] ?? item.state}`);
  }
  return done;
}
