import { SpecpipeError } from '../util/errors.js';

/** A stage key as the store names its directories: 64 lower-case hex digits (a SHA-256). */
export const STAGE_KEY_PATTERN = /^[0-9a-f]{64}$/;

export function isStageKey(key: unknown): key is string {
  return typeof key === 'string' && STAGE_KEY_PATTERN.test(key);
}

/** A value received for a key, quoted for a one-line message (long or odd values cut short). */
export function quoteValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(cut);
}

/**
 * Checks that `key` is a stage key before it becomes part of a path: a key from a job, a run
 * record or the command line is untrusted input (`../../victim` must never reach the file system).
 * `where` names who received it (`job 7`, `show KEY`, `store.dir`).
 */
export function assertStageKey(key: unknown, where: string): string {
  if (!isStageKey(key))
    throw new SpecpipeError('bad-key', `${where}: expected a stage key (64 lower-case hex digits), received ${quoteValue(key)}`);
  return key;
}
