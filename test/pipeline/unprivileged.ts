/**
 * Permission tests need a user the kernel checks permissions for. Root (here and in CI) bypasses
 * them, so as root the CLI runs as `nobody` (uid/gid 65534, the child process drops privileges through
 * spawn's uid/gid) over a workspace handed to that user. Not root: the CLI runs as this user.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** How a permission test runs here: as `user` (undefined: this process's own), or a reason to skip. */
export function permissionTestUser(): { user: { uid: number; gid: number } | undefined } | { skip: string } {
  if (process.getuid?.() !== 0) return { user: undefined };
  // The compiled CLI must be readable by that user, and the kernel must let us switch.
  const probe = spawnSync(process.execPath, ['-e', 'process.exit(process.getuid() === 65534 ? 0 : 3)'], {
    ...NOBODY,
    stdio: 'ignore',
  });
  if (probe.status === 0) return { user: NOBODY };
  return {
    skip: `running as root and cannot run a process as nobody (uid 65534): ${probe.error?.message ?? `exit ${probe.status}`}; permissions are not enforced for root`,
  };
}

/** Gives `dir` and everything under it to `user` (no-op for undefined). */
export function handOver(dir: string, user: { uid: number; gid: number } | undefined): void {
  if (user === undefined) return;
  chownSync(dir, user.uid, user.gid);
  if (!statSync(dir).isDirectory()) return;
  for (const name of readdirSync(dir)) handOver(join(dir, name), user);
}
