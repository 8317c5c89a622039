import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SpecpipeError, isSystemError } from '../util/errors.js';

/** Who holds a lock: written into `<lock>/owner.json`. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
  /** What the holder is doing (instance name), for messages. */
  readonly what: string;
}

/** A held lock; `release` is idempotent. */
export interface HeldLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Refreshes the heartbeat now (stages running synchronous loops call it through their progress callback). */
  touch(): void;
  release(): void;
}

export interface LockOptions {
  /**
   * A lock whose heartbeat (directory mtime) is older than this is stale, whatever its pid — the only
   * test for owners on other hosts (same host: the owner pid's liveness decides). Default 10 min, as a
   * synchronous stage can block the heartbeat timer between progress reports.
   */
  readonly staleMs?: number;
  /** Heartbeat period. Default 2 s. */
  readonly heartbeatMs?: number;
  /** Poll period while waiting. Default 50 ms. */
  readonly pollMs?: number;
  /** Called once when the lock is found held by someone else who is alive (or may be: another host, fresh heartbeat). */
  readonly onWait?: (owner: LockOwner | undefined) => void;
  /** Called when the lock was held by a dead owner (or one whose heartbeat stopped) and is taken over. */
  readonly onTakeOver?: (owner: LockOwner | undefined) => void;
}

export const DEFAULT_STALE_MS = 10 * 60_000;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(dir: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * Whether a lock directory is abandoned: its owner is a dead process on this host, or its heartbeat
 * stopped for `staleMs`. A lock directory without owner file (owner died between mkdir and write)
 * is stale once older than 5 s.
 */
export function lockIsStale(dir: string, staleMs: number): boolean {
  let mtime: number;
  try {
    mtime = statSync(dir).mtimeMs;
  } catch {
    return false; // gone: not stale, just free
  }
  const owner = readOwner(dir);
  const age = Date.now() - mtime;
  if (owner === undefined) return age > 5000;
  if (owner.host === hostname() && !pidAlive(owner.pid)) return true;
  return age > staleMs;
}

/** Removes a stale lock, guarded by a second (breaker) lock so two breakers never remove a fresh lock. */
function breakStaleLock(dir: string, staleMs: number): void {
  const breaker = `${dir}.break`;
  try {
    mkdirSync(breaker);
  } catch {
    // Someone else is breaking it; a breaker left by a dead process goes after 10 s.
    try {
      if (Date.now() - statSync(breaker).mtimeMs > 10_000) rmSync(breaker, { recursive: true, force: true });
    } catch {
      /* gone */
    }
    return;
  }
  try {
    if (lockIsStale(dir, staleMs)) {
      const aside = `${dir}.stale.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(dir, aside);
        rmSync(aside, { recursive: true, force: true });
      } catch {
        /* already gone */
      }
    }
  } finally {
    rmSync(breaker, { recursive: true, force: true });
  }
}

/** One attempt: creates the lock directory atomically (mkdir fails if it exists). */
export function tryLock(dir: string, what: string, options: LockOptions = {}): HeldLock | undefined {
  // A lock path is built from a key; one that climbs out with `..` was built from an unchecked key.
  if (dir.split(/[\\/]/).includes('..'))
    throw new SpecpipeError('bad-lock-path', `key lock: refusing lock path ${JSON.stringify(dir)} (contains "..")`);
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (lockIsStale(dir, staleMs)) breakStaleLock(dir, staleMs);
    return undefined;
  }
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(8).toString('hex'),
    since: new Date().toISOString(),
    what,
  };
  try {
    writeFileSync(join(dir, 'owner.json'), JSON.stringify(owner));
  } catch (e) {
    // No room for the owner file (a full disk): leave no ownerless lock behind, and say which file it was.
    rmSync(dir, { recursive: true, force: true });
    if (isSystemError(e) && e.path === undefined) e.path = join(dir, 'owner.json');
    throw e;
  }
  let lastBeat = Date.now();
  const touch = (): void => {
    lastBeat = Date.now();
    try {
      const now = new Date();
      utimesSync(dir, now, now);
    } catch {
      /* released */
    }
  };
  const beat = setInterval(touch, options.heartbeatMs ?? 2000);
  beat.unref();
  let released = false;
  return {
    path: dir,
    owner,
    touch() {
      if (Date.now() - lastBeat > 1000) touch();
    },
    release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      if (readOwner(dir)?.token !== owner.token) return; // broken by someone who judged us stale
      const aside = `${dir}.released.${owner.token}`;
      try {
        renameSync(dir, aside);
        rmSync(aside, { recursive: true, force: true });
      } catch {
        /* already gone */
      }
    },
  };
}

/** Waits until the lock is free (or stale) and takes it. */
export async function acquireLock(dir: string, what: string, options: LockOptions = {}): Promise<HeldLock> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  let told = false;
  let abandoned: { owner: LockOwner | undefined } | undefined;
  for (;;) {
    // A lock whose owner is dead is not worth waiting for: say so and take it over.
    if (lockIsStale(dir, staleMs)) abandoned = { owner: readOwner(dir) };
    const held = tryLock(dir, what, options);
    if (held !== undefined) {
      if (abandoned !== undefined) options.onTakeOver?.(abandoned.owner);
      return held;
    }
    // Held by someone alive: wait for it (and say so once). Gone or stale: try again at once.
    if (existsSync(dir) && !lockIsStale(dir, staleMs)) {
      if (!told) {
        told = true;
        options.onWait?.(readOwner(dir));
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
    } else await new Promise((r) => setTimeout(r, 5));
  }
}

export function lockOwner(dir: string): LockOwner | undefined {
  return readOwner(dir);
}
