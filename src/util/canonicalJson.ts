import { createHash } from 'node:crypto';
import { SpecpipeError } from './errors.js';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, `-0` written as 0,
 * `undefined` members dropped. Two equal plain-data values always give the same string, whatever
 * the key order they were written in (the turborepo #3142 trap).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new SpecpipeError('non-finite-json', `cannot hash the non-finite number ${value}`);
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new SpecpipeError('non-json-value', `cannot hash a value of type ${typeof value}`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
