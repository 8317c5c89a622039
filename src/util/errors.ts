/**
 * Errors meant for the user: the CLI prints `message` alone (no stack) and exits with `exitCode`.
 * Every message names what was wrong and where: the file (line:column), or the parameter and
 * the value received. `reason` is a stable machine-readable tag for tests and JSON output.
 */
export class SpecpipeError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'SpecpipeError';
  }
}

export function isSpecpipeError(e: unknown): e is SpecpipeError {
  return e instanceof Error && typeof (e as Partial<SpecpipeError>).reason === 'string' && 'exitCode' in e;
}

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EBUSY: 'resource busy',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EXDEV: 'cross-device rename',
};

/** A Node system error (fs, net): it has a string `code` like EACCES and usually a `path`. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return (
    e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z0-9]+$/.test((e as NodeJS.ErrnoException).code!)
  );
}

const SYSCALL_VERB: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  scandir: 'list',
  stat: 'stat',
  lstat: 'stat',
  copyfile: 'copy',
  fsync: 'sync',
  utime: 'touch',
};

/**
 * A file-system failure as one line naming the path and the cause, e.g.
 * `cannot write runs/x.json: EACCES (permission denied)`; `what` says what was being done
 * (default: from the failed system call). Other errors are returned unchanged.
 */
export function describeSystemError(e: unknown, what?: string, path?: string): unknown {
  if (!isSystemError(e)) return e;
  what ??= SYSCALL_VERB[e.syscall ?? ''] ?? 'access';
  const p = path ?? e.path ?? (e as { dest?: string }).dest;
  const text = ERRNO_TEXT[e.code] ?? e.message.replace(/^[A-Z0-9]+: /, '').split(',')[0] ?? e.code;
  return new SpecpipeError('io-error', `cannot ${what} ${p ?? '(unknown path)'}: ${e.code} (${text})`);
}
