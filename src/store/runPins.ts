import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite.js';

/**
 * Pinned runs: `gc` never collects the artifacts a pinned run references. One empty file per pin,
 *
 *     <runs>/.pins/<run id>
 *
 * so pinning is atomic, two pins never race on one shared file, and the run records stay as written.
 */
const PINS = '.pins';

export function pinRun(runsDir: string, run: string): void {
  writeFileAtomic(join(runsDir, PINS, run), '');
}

/** Removes the pin; returns whether the run was pinned. */
export function unpinRun(runsDir: string, run: string): boolean {
  const p = join(runsDir, PINS, run);
  if (!existsSync(p)) return false;
  rmSync(p, { force: true });
  return true;
}

/** The ids of the pinned runs (a pin whose run record is gone is still listed: gc keeps nothing for it). */
export function pinnedRuns(runsDir: string): Set<string> {
  const dir = join(runsDir, PINS);
  if (!existsSync(dir)) return new Set();
  return new Set(readdirSync(dir).filter((n) => !n.startsWith('.')));
}
