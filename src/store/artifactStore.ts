import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  openSync,
  closeSync,
  fsyncSync,
} from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { SpecpipeError } from '../util/errors.js';
import { assertStageKey, isStageKey, quoteValue } from './storeKey.js';
import type { ArtifactRole } from './manifest.js';
import { sha256File } from './fileHash.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { DEFAULT_STALE_MS, acquireLock, lockIsStale, lockOwner, tryLock, type HeldLock, type LockOptions } from './keyLock.js';
import type { Manifest, ManifestFile } from './manifest.js';

/**
 * How much to trust an artifact on reuse:
 */
export type VerifyMode =
  /** Size and mtime must match the manifest; a file whose mtime changed is rehashed. */
  | 'fast'
  /** Every file is rehashed (`--verify full`). */
  | 'full';

export type Verdict =
  { readonly ok: true; readonly manifest: Manifest } | { readonly ok: false; readonly reason: string; readonly present: boolean };

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Content-addressed artifact store on a (possibly shared) directory:
 *
 *     <root>/<key>/manifest.json, files…     finished artifacts (never modified in place)
 *     <root>/.tmp/<key>.<pid>.<rand>/         artifacts being written (renamed into place when done)
 *     <root>/.locks/<key>/owner.json          one lock per key (atomic mkdir; pid + heartbeat)
 *     <root>/.trash/                          corrupt artifacts moved aside before deletion
 *
 * Safe for several processes (and hosts on a shared file system): writers hold the key's lock;
 * readers only ever see complete directories, because a directory appears by rename.
 */
export class ArtifactStore {
  readonly root: string;
  readonly #lockOptions: LockOptions;

  constructor(root: string, lockOptions: LockOptions = {}) {
    this.root = resolve(root);
    this.#lockOptions = lockOptions;
  }

  /**
   * The directory of `key`. Keys come from jobs, run records and the command line: anything but a
   * stage key (64 lower-case hex digits) is refused before it becomes a path.
   */
  dir(key: string): string {
    return this.#inside(join(this.root, assertStageKey(key, `artifact store ${this.root}`)));
  }

  /** `p` itself when it lies strictly inside the store's root; a SpecpipeError otherwise. */
  #inside(p: string): string {
    const r = resolve(p);
    if (!r.startsWith(this.root + sep))
      throw new SpecpipeError(
        'path-outside-store',
        `artifact store ${this.root}: refusing path ${quoteValue(p)}, outside the store`,
      );
    return r;
  }

  #ensure(sub: string): string {
    const d = join(this.root, sub);
    mkdirSync(d, { recursive: true });
    return d;
  }

  readManifest(key: string): Manifest | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir(key), 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
  }

  /** Checks a finished artifact against its manifest; never throws. */
  verify(key: string, mode: VerifyMode = 'fast'): Verdict {
    if (!isStageKey(key))
      return { ok: false, reason: `${quoteValue(key)} is not a stage key (64 lower-case hex digits)`, present: false };
    const dir = this.dir(key);
    if (!existsSync(dir)) return { ok: false, reason: 'not in the store', present: false };
    const m = this.readManifest(key);
    if (m === undefined) return { ok: false, reason: 'manifest.json missing or unreadable', present: true };
    if (m.key !== key) return { ok: false, reason: `manifest.json names key ${m.key}`, present: true };
    for (const f of m.files) {
      const p = join(dir, f.path);
      let st;
      try {
        st = statSync(p);
      } catch {
        return { ok: false, reason: `${f.path} is missing`, present: true };
      }
      if (st.size !== f.bytes)
        return { ok: false, reason: `${f.path} has ${st.size} bytes, the manifest says ${f.bytes}`, present: true };
      if (mode === 'full' || Math.abs(st.mtimeMs - f.mtimeMs) >= 1) {
        const h = sha256File(p);
        if (h !== f.sha256)
          return {
            ok: false,
            reason: `${f.path} does not match its sha256 (content changed since it was written)`,
            present: true,
          };
      }
    }
    return { ok: true, manifest: m };
  }

  /**
   * `verify` for a reader that holds a lease on `key` (store/lease.ts), or `'locked'` while someone
   * holds the key's lock (a `gc` deciding whether to delete it, a writer committing it): the reader
   * then takes the lock itself and verifies under it. With the lease written before this check, a
   * `gc` that locks the key later finds the lease and keeps the key, and one that locked it earlier
   * still holds the lock here (or has finished deleting, so the key reads as missing); a key that
   * verifies here therefore stays until the lease is released.
   */
  verifyUnlocked(key: string, mode: VerifyMode = 'fast'): Verdict | 'locked' {
    if (isStageKey(key)) {
      const lock = join(this.root, '.locks', key);
      if (existsSync(lock) && !lockIsStale(lock, this.#lockOptions.staleMs ?? DEFAULT_STALE_MS)) return 'locked';
    }
    return this.verify(key, mode);
  }

  lockPath(key: string): string {
    assertStageKey(key, `artifact store ${this.root} (lock)`);
    return this.#inside(join(this.#ensure('.locks'), key));
  }

  tryLock(key: string, what: string): HeldLock | undefined {
    return tryLock(this.lockPath(key), what, this.#lockOptions);
  }

  async lock(
    key: string,
    what: string,
    onWait?: LockOptions['onWait'],
    onTakeOver?: LockOptions['onTakeOver'],
  ): Promise<HeldLock> {
    return acquireLock(this.lockPath(key), what, {
      ...this.#lockOptions,
      ...(onWait !== undefined ? { onWait } : {}),
      ...(onTakeOver !== undefined ? { onTakeOver } : {}),
    });
  }

  /** A fresh empty directory to write an artifact into (caller must hold the key's lock). */
  tempDir(key: string): string {
    assertStageKey(key, `artifact store ${this.root} (temp dir)`);
    const d = this.#inside(join(this.#ensure('.tmp'), `${key}.${process.pid}.${randomBytes(4).toString('hex')}`));
    mkdirSync(d);
    return d;
  }

  /** Moves a (corrupt, partial or forced) artifact out of the way and deletes it (caller holds the lock). */
  discard(key: string): void {
    const dir = this.dir(key);
    if (!existsSync(dir)) return;
    const aside = this.#inside(join(this.#ensure('.trash'), `${key}.${process.pid}.${randomBytes(4).toString('hex')}`));
    renameSync(dir, aside);
    rmSync(aside, { recursive: true, force: true });
  }

  /**
   * Hashes every file of `tmp`, writes manifest.json (last), and renames the directory to `<key>`
   * (caller holds the key's lock and has discarded any previous directory).
   */
  commit(
    key: string,
    tmp: string,
    manifest: Omit<Manifest, 'files'>,
    roles: Readonly<Record<string, ArtifactRole>> = {},
  ): Manifest {
    const dest = this.dir(key);
    this.#inside(tmp);
    const files: ManifestFile[] = [];
    for (const path of listFiles(tmp)) {
      if (path === 'manifest.json')
        throw new SpecpipeError(
          'stage-wrote-manifest',
          `stage ${manifest.instance} wrote manifest.json itself; that name is the store's`,
        );
      const p = join(tmp, path);
      const fd = openSync(p, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const st = statSync(p);
      files.push({ path, bytes: st.size, sha256: sha256File(p), mtimeMs: Math.round(st.mtimeMs), role: roles[path] ?? 'data' });
    }
    const full: Manifest = { ...manifest, files };
    writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(full, null, 2) + '\n');
    try {
      renameSync(tmp, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // Someone committed the same key meanwhile (their lock was judged stale): keep a valid one.
      const v = this.verify(key, 'full');
      if (v.ok) {
        rmSync(tmp, { recursive: true, force: true });
        return v.manifest;
      }
      this.discard(key);
      renameSync(tmp, dest);
    }
    return full;
  }

  /** Keys of finished artifact directories. */
  keys(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root).filter((n) => /^[0-9a-f]{64}$/.test(n));
  }

  /** Total bytes of an artifact directory. */
  sizeOf(key: string): number {
    let total = 0;
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else total += statSync(p).size;
      }
    };
    try {
      walk(this.dir(key));
    } catch {
      /* vanished */
    }
    return total;
  }

  /** Removes temp dirs of dead writers and stale locks; returns how many entries went. */
  sweep(): number {
    let n = 0;
    const tmpRoot = join(this.root, '.tmp');
    if (existsSync(tmpRoot)) {
      for (const name of readdirSync(tmpRoot)) {
        const key = name.split('.')[0]!;
        const pid = Number(name.split('.')[1]);
        const lockDir = join(this.root, '.locks', key);
        const owner = lockOwner(lockDir);
        const writerAlive =
          owner !== undefined && owner.pid === pid && !lockIsStale(lockDir, this.#lockOptions.staleMs ?? DEFAULT_STALE_MS);
        if (!writerAlive) {
          rmSync(join(tmpRoot, name), { recursive: true, force: true });
          n++;
        }
      }
    }
    for (const sub of ['.trash']) {
      const d = join(this.root, sub);
      if (existsSync(d)) for (const name of readdirSync(d)) (rmSync(join(d, name), { recursive: true, force: true }), n++);
    }
    const locks = join(this.root, '.locks');
    if (existsSync(locks)) {
      for (const name of readdirSync(locks)) {
        const p = join(locks, name);
        if (/^[0-9a-f]{64}$/.test(name) && lockIsStale(p, this.#lockOptions.staleMs ?? DEFAULT_STALE_MS)) {
          rmSync(p, { recursive: true, force: true });
          n++;
        }
      }
    }
    return n;
  }
}
