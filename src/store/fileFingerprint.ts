import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { sha256File } from './fileHash.js';

/**
 * The content of an input file or directory, as it enters a stage key (architecture.md: "the
 * content of every file read"):
 * - `sha256:<hex>`: a file, the sha256 of its bytes;
 * - `tree:<hex>`: a directory, the sha256 of the listing of every file under it (symbolic links
 *   followed), one line `<relative path>\t<bytes>\t<sha256>\n` per file, sorted by path;
 * - `absent`: nothing at that path (the stage reports the missing input when it runs, as before).
 */
export type Fingerprint = string & { readonly __brand: 'Fingerprint' };

export const ABSENT = 'absent' as Fingerprint;

/** Name of the cache file in the store root (not a key, so the store's listings ignore it). */
export const FINGERPRINT_CACHE_FILE = '.fingerprints.json';

/**
 * Files read and hashed by this process (tests assert that an unchanged rerun hashes nothing).
 * Reset it by assigning 0 to its members.
 */
export const fingerprintCounters = { filesHashed: 0, bytesHashed: 0 };

/** A cached file hash: trusted while the file's size, mtime (ns) and inode are unchanged. */
interface CacheEntry {
  readonly size: number;
  /** BigInt nanoseconds, as a decimal string. */
  readonly mtimeNs: string;
  readonly ino: string;
  readonly sha256: string;
}

interface CacheFile {
  readonly version: 1;
  readonly files: Record<string, CacheEntry>;
}

/**
 * A file whose mtime is this close to the moment it was hashed may be written again within the same
 * timestamp tick without its mtime changing (git's "racily clean" entries): its hash is used for this
 * plan but not remembered.
 */
const RACY_WINDOW_NS = 1_000_000_000n;

function sha256OfFile(path: string): string {
  const hex = sha256File(path, (n) => (fingerprintCounters.bytesHashed += n));
  fingerprintCounters.filesHashed++;
  return hex;
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

export interface FingerprintCacheOptions {
  /** Where the cache persists between processes (`<store>/.fingerprints.json`); absent: this object only. */
  readonly file?: string;
  /** false: rehash every file, whatever the cache says (`specpipe run --verify full`); the cache is refreshed. Default true. */
  readonly trust?: boolean;
}

/**
 * Content fingerprints of input files and directories, with a cache of file hashes keyed by
 * (absolute path, size, mtime in ns, inode): an unchanged input is only stat'ed, so a cached rerun
 * costs one stat per input file. The cache file is loaded on first use (plans of kinds without
 * inputs never read it) and written atomically by `save` when something was hashed.
 */
export class FingerprintCache {
  readonly #file: string | undefined;
  readonly #trust: boolean;
  #entries: Map<string, CacheEntry> | undefined;
  #dirty = false;
  /** Per-object memo: a path shared by many instances (a matrix over one data root) is walked once. */
  readonly #memo = new Map<string, Fingerprint>();

  constructor(options: FingerprintCacheOptions = {}) {
    this.#file = options.file;
    this.#trust = options.trust ?? true;
  }

  /** The cache of a store: `<store>/.fingerprints.json`. */
  static forStore(storeRoot: string, options: { readonly trust?: boolean } = {}): FingerprintCache {
    return new FingerprintCache({ file: join(resolve(storeRoot), FINGERPRINT_CACHE_FILE), ...options });
  }

  #load(): Map<string, CacheEntry> {
    if (this.#entries !== undefined) return this.#entries;
    this.#entries = new Map();
    if (this.#file === undefined) return this.#entries;
    try {
      const parsed = JSON.parse(readFileSync(this.#file, 'utf8')) as Partial<CacheFile>;
      if (parsed.version === 1 && typeof parsed.files === 'object' && parsed.files !== null)
        for (const [p, e] of Object.entries(parsed.files)) this.#entries.set(p, e);
    } catch {
      // Missing or unreadable: start empty (it is only a cache).
    }
    return this.#entries;
  }

  /** The fingerprint of an absolute path (a file, a directory, or nothing). */
  fingerprint(path: string): Fingerprint {
    const abs = resolve(path);
    const memo = this.#memo.get(abs);
    if (memo !== undefined) return memo;
    const st = statOrUndefined(abs);
    let fp: Fingerprint;
    if (st === undefined) fp = ABSENT;
    else if (st.isDirectory()) fp = this.#tree(abs, st);
    else fp = `sha256:${this.#fileHash(abs, st)}` as Fingerprint;
    this.#memo.set(abs, fp);
    return fp;
  }

  #fileHash(abs: string, st: BigIntStats): string {
    const entries = this.#load();
    const size = Number(st.size);
    const mtimeNs = st.mtimeNs.toString();
    const ino = st.ino.toString();
    const hit = entries.get(abs);
    if (this.#trust && hit !== undefined && hit.size === size && hit.mtimeNs === mtimeNs && hit.ino === ino) return hit.sha256;
    const sha256 = sha256OfFile(abs);
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now - st.mtimeNs >= RACY_WINDOW_NS) {
      entries.set(abs, { size, mtimeNs, ino, sha256 });
      this.#dirty = true;
    } else if (hit !== undefined) {
      entries.delete(abs);
      this.#dirty = true;
    }
    return sha256;
  }

  /** Every file under `dir` (symbolic links followed, a link back to an enclosing directory skipped). */
  #tree(dir: string, st: BigIntStats): Fingerprint {
    const lines: string[] = [];
    const walk = (d: string, rel: string, ancestors: readonly string[]): void => {
      for (const name of readdirSync(d).sort()) {
        const p = join(d, name);
        const r = rel === '' ? name : `${rel}/${name}`;
        const s = statOrUndefined(p);
        if (s === undefined) continue; // dangling link
        if (s.isDirectory()) {
          const id = `${s.dev}:${s.ino}`;
          if (!ancestors.includes(id)) walk(p, r, [...ancestors, id]);
        } else if (s.isFile()) lines.push(`${r}\t${s.size}\t${this.#fileHash(p, s)}\n`);
      }
    };
    walk(dir, '', [`${st.dev}:${st.ino}`]);
    lines.sort();
    return `tree:${createHash('sha256').update(lines.join('')).digest('hex')}` as Fingerprint;
  }

  /** Writes the cache file (atomically) if something was hashed; a failure to write is not an error. */
  save(): void {
    if (!this.#dirty || this.#file === undefined || this.#entries === undefined) return;
    const files: Record<string, CacheEntry> = {};
    for (const [p, e] of [...this.#entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) files[p] = e;
    try {
      writeFileAtomic(this.#file, JSON.stringify({ version: 1, files } satisfies CacheFile));
      this.#dirty = false;
    } catch {
      // A read-only store still plans; the next run hashes again.
    }
  }
}
