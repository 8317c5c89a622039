import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isSystemError } from './errors.js';

/**
 * Writes `data` to a temporary sibling file and renames it over `path`: readers see the old file or the whole new one.
 * On failure the sibling is removed and a system error that names no path (a `write` that hit ENOSPC or EDQUOT
 * reports only its file descriptor) is given `path`, so the message can say which file could not be written.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (isSystemError(e) && e.path === undefined) e.path = path;
    throw e;
  }
}
