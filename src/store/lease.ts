import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isStageKey } from './storeKey.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { DEFAULT_STALE_MS, pidAlive } from './keyLock.js';

/**
 * A run's claim on the keys it reads or writes, so `gc` leaves them alone while it runs:
 *
 *     <store>/.leases/<host>.<pid>.<token>.json    {pid, host, token, since, what, keys}
 *
 * The file's mtime is its heartbeat (touched every `heartbeatMs`). A lease is expired when its
 * owner is a dead process on this host, or its heartbeat is older than `staleMs` (the only test
 * for owners on other hosts) — the same rule as the key locks (keyLock.ts).
 */
export interface LeaseFile {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
  /** Who holds it, for messages (`run pipelines/x.yaml`). */
  readonly what: string;
  readonly keys: readonly string[];
}

export interface HeldLease {
  readonly path: string;
  /** Removes the lease file; idempotent. */
  release(): void;
}

export interface LeaseOptions {
  /** Heartbeat period (default 2 s). */
  readonly heartbeatMs?: number;
  /** A lease whose heartbeat is older than this is expired (default 10 min, as the key locks). */
  readonly staleMs?: number;
}

const LEASES = '.leases';

/** Takes a lease on `keys` in the store at `root` (written atomically; removed at release or process exit). */
export function takeLease(root: string, keys: Iterable<string>, what: string, options: LeaseOptions = {}): HeldLease {
  const dir = join(root, LEASES);
  mkdirSync(dir, { recursive: true });
  const lease: LeaseFile = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(6).toString('hex'),
    since: new Date().toISOString(),
    what,
    keys: [...new Set([...keys].filter(isStageKey))].sort(),
  };
  const path = join(dir, `${lease.host}.${lease.pid}.${lease.token}.json`);
  // Temp file + rename; on failure (a full disk) the temp file goes and the error names `path`.
  writeFileAtomic(path, JSON.stringify(lease));
  const beat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      /* released or removed */
    }
  }, options.heartbeatMs ?? 2000);
  beat.unref();
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    clearInterval(beat);
    process.off('exit', release);
    rmSync(path, { force: true });
  };
  process.on('exit', release);
  return { path, release };
}

function readLease(path: string): LeaseFile | undefined {
  try {
    const l = JSON.parse(readFileSync(path, 'utf8')) as Partial<LeaseFile>;
    if (typeof l.pid !== 'number' || typeof l.host !== 'string' || !Array.isArray(l.keys)) return undefined;
    return l as LeaseFile;
  } catch {
    return undefined;
  }
}

/**
 * The keys held by live leases in the store at `root`. Expired leases (owner dead on this host,
 * heartbeat stale, or unreadable and older than 10 s) are removed on the way.
 */
export function leasedKeys(root: string, options: LeaseOptions = {}): Set<string> {
  const dir = join(root, LEASES);
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const keys = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return keys;
  }
  for (const name of names) {
    const path = join(dir, name);
    let age: number;
    try {
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    const lease = name.startsWith('.') ? undefined : readLease(path);
    const expired = lease === undefined ? age > 10_000 : (lease.host === hostname() && !pidAlive(lease.pid)) || age > staleMs;
    if (expired) {
      rmSync(path, { force: true });
      continue;
    }
    for (const k of lease?.keys ?? []) keys.add(k);
  }
  return keys;
}
