/**
 * Permission tests need a user the kernel checks permissions for. Root (here and in CI) bypasses
 * them, so as root the CLI runs as `nobody` (uid/gid 65534, the child process drops privileges through
 * spawn's uid/gid) over a workspace handed to that user. Not root: the CLI runs as this user.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliArgv } from './cliHarness.js';

export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** How a permission test runs here: as `user` (undefined: this process's own), or a reason to skip. */
export function permissionTestUser(): { user: { uid: number; gid: number } | undefined } | { skip: string } {
  if (process.getuid?.() !== 0) return { user: undefined };
  // The kernel must let us switch, and that user must be able to read and run the CLI (a checkout under a
  // private home directory is not readable by others).
  const probe = spawnSync(process.execPath, cliArgv(['--version']), { ...NOBODY, encoding: 'utf8', cwd: tmpdir() });
  if (probe.status === 0) return { user: NOBODY };
  const why = probe.error?.message ?? (probe.stderr.trim().split('\n')[0] || `exit ${probe.status}`);
  return {
    skip: `running as root, and nobody (uid 65534) cannot run the CLI here (${why}); permissions are not enforced for root`,
  };
}

/** Gives `dir` and everything under it to `user` (no-op for undefined). */
export function handOver(dir: string, user: { uid: number; gid: number } | undefined): void {
  if (user === undefined) return;
  chownSync(dir, user.uid, user.gid);
  if (!statSync(dir).isDirectory()) return;
  for (const name of readdirSync(dir)) handOver(join(dir, name), user);
}
