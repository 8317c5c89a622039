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

/** Reads schemas/<relative> as JSON. */
export function loadSchema(relative: string): Record<string, unknown> {
  const path = join(schemasDirectory(), relative);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new SpecpipeError(
      'schema-unreadable',
      `${path}: cannot read JSON Schema (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/** The defaults a kind's params schema declares, by param name (schemas/<relative>). */
export function schemaDefaults(relative: string): Readonly<Record<string, unknown>> {
  const props = (loadSchema(relative)['properties'] ?? {}) as Record<string, { default?: unknown }>;
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(props)) if (p.default !== undefined) out[name] = p.default;
  return out;
}
