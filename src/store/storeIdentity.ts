import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SpecpipeError } from '../util/errors.js';

/** `<store>/.store-id`: 32 hex digits, written once when a store is first used by a distributed run or worker. */
export const STORE_ID_FILE = '.store-id';

/** Which store a path leads to: its id (the same through any mount point or path spelling) and the path as given. */
export interface StoreIdentity {
  readonly id: string;
  readonly path: string;
}

/**
 * The identity of the store at `root`: the id in its `.store-id`, created (with the directory) when
 * missing. Creation is atomic (the id is written to a private temp file and hard-linked into place;
 * the link fails if another process got there first, whose id is then read), so a run and its
 * workers starting together on a fresh shared directory agree on one id.
 */
export function storeIdentity(root: string): StoreIdentity {
  const dir = resolve(root);
  const file = join(dir, STORE_ID_FILE);
  const read = (): string | undefined => {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (!/^[0-9a-f]{32}$/.test(id))
        throw new SpecpipeError('bad-store-id', `${file}: expected 32 hex digits (the store's id), found "${id.slice(0, 40)}"`);
      return id;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  const existing = read();
  if (existing !== undefined) return { id: existing, path: dir };
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.store-id.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, randomBytes(16).toString('hex') + '\n');
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  const id = read();
  if (id === undefined) throw new SpecpipeError('bad-store-id', `${file}: could not be created`);
  return { id, path: dir };
}
