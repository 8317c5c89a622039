import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from './artifactStore.js';

/**
 * Removes what this process left half-done in the store when it stops early (Ctrl-C): its temp dirs
 * (`.tmp/<key>.<pid>.<rand>`) and the key locks it owns (`.locks/<key>`, owner pid and host). Only
 * for a process that stops computing now: a stage still writing would find its temp dir gone.
 * Returns how many entries went.
 */
export function removeOwnWork(store: ArtifactStore): number {
  let n = 0;
  const tmp = join(store.root, '.tmp');
  if (existsSync(tmp))
    for (const name of readdirSync(tmp))
      if (Number(name.split('.')[1]) === process.pid) {
        rmSync(join(tmp, name), { recursive: true, force: true });
        n++;
      }
  const locks = join(store.root, '.locks');
  if (existsSync(locks))
    for (const name of readdirSync(locks)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      let owner: { pid?: unknown; host?: unknown } | undefined;
      try {
        owner = JSON.parse(readFileSync(join(locks, name, 'owner.json'), 'utf8')) as { pid?: unknown; host?: unknown };
      } catch {
        continue; // not ours to judge (sweep removes ownerless locks once they are old)
      }
      if (owner.pid === process.pid && owner.host === hostname()) {
        rmSync(join(locks, name), { recursive: true, force: true });
        n++;
      }
    }
  return n;
}
