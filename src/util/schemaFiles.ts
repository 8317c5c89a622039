import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecpipeError } from './errors.js';

let schemasDir: string | undefined;

/**
 * The repository's schemas/ directory, found by walking up from this module (works from src/ under
 * tsx and from dist/src/ once compiled, and from an installed package, which ships schemas/).
 */
export function schemasDirectory(): string {
  if (schemasDir !== undefined) return schemasDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'schemas');
    if (existsSync(join(candidate, 'pipeline.schema.json'))) return (schemasDir = candidate);
    const up = dirname(dir);
    if (up === dir)
      throw new SpecpipeError(
        'schemas-missing',
        `cannot find schemas/pipeline.schema.json above ${fileURLToPath(import.meta.url)}`,
      );
    dir = up;
  }
}

const loaded = new Map<string, Record<string, unknown>>();

/**
 * Reads schemas/<relative> as JSON, once: every caller gets the same object, so a schema with an `$id` is one
 * schema to ajv however often it is loaded (ajv refuses two different schemas under one `$id`). Do not mutate it.
 */
export function loadSchema(relative: string): Record<string, unknown> {
  const path = join(schemasDirectory(), relative);
  const hit = loaded.get(path);
  if (hit !== undefined) return hit;
  try {
    const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    loaded.set(path, schema);
    return schema;
  } catch (e) {
    throw new SpecpipeError(
      'schema-unreadable',
      `${path}: cannot read JSON Schema (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/**
 * The defaults of a params schema's properties, by name (schemas/<relative>, e.g. 'stages/spectrum-slq.schema.json'): what
 * ajv's useDefaults fills into a `with:` that leaves them out. With `names`, each must have a default (else a
 * SpecpipeError naming the schema and the param), so a CLI that takes its defaults from a kind's schema fails loudly
 * when the schema loses one.
 */
export function schemaDefaults<K extends string>(relative: string, names?: readonly K[]): Readonly<Record<K, unknown>> {
  const properties = (loadSchema(relative)['properties'] ?? {}) as Record<string, { default?: unknown }>;
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(properties))
    if (p !== null && typeof p === 'object' && 'default' in p) out[name] = p.default;
  for (const name of names ?? []) {
    if (!(name in out))
      throw new SpecpipeError(
        'schema-default-missing',
        `schemas/${relative}: param "${name}" has no default (params with defaults: ${Object.keys(out).join(', ') || 'none'})`,
      );
  }
  return structuredClone(out) as Record<K, unknown>;
}
