import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layer rules of docs/architecture.md that issue 5 made true, checked on the sources by a
 * static scan of import specifiers (static `import … from`, `export … from`, side-effect
 * `import '…'`, and dynamic `import('…')`):
 * - src/curvature imports nothing from src/executor, src/stages, src/pipeline or src/cli (its
 *   execution layout — e.g. the Redis transport — is injected by the caller);
 * - src/backend imports nothing from src/curvature.
 */

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const SRC = join(repoRoot, 'src');

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"`])([^'"`]+)\1/g;

/** Every module specifier written in `source` (comments are not stripped: a commented import counts too). */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) => m[2]!);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `file`'s relative imports that land in one of `forbidden` (folders relative to src/), as "file → specifier". */
function offending(layer: string, forbidden: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(join(SRC, layer))) {
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(file), spec))
        .split(sep)
        .join('/');
      if (forbidden.some((f) => target === f || target.startsWith(`${f}/`))) {
        found.push(`${relative(repoRoot, file)} → ${spec}`);
      }
    }
  }
  return found;
}

test('the scanner sees static, re-export, side-effect and dynamic imports', () => {
  const source = [
    "import { a } from '../executor/x.js';",
    'import type { B } from "../stages/y.js";',
    "export { c } from '../pipeline/z.js';",
    "import '../cli/side.js';",
    "const m = await import('../executor/bullmq/productShards.js');",
    'const n = await import(`../stages/t.js`);',
    "const s = 'from nowhere';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(source), [
    '../executor/x.js',
    '../stages/y.js',
    '../pipeline/z.js',
    '../cli/side.js',
    '../executor/bullmq/productShards.js',
    '../stages/t.js',
  ]);
});

test('src/curvature imports nothing from src/executor, src/stages, src/pipeline or src/cli', () => {
  const files = sourceFiles(join(SRC, 'curvature'));
  assert.ok(files.length > 5, `expected the curvature sources under ${SRC}, found ${files.length} files`);
  assert.ok(
    files.some((f) => importSpecifiers(readFileSync(f, 'utf8')).length > 0),
    'the scan found no imports at all in src/curvature',
  );
  assert.deepEqual(offending('curvature', ['executor', 'stages', 'pipeline', 'cli']), []);
});

test('src/backend imports nothing from src/curvature', () => {
  assert.ok(sourceFiles(join(SRC, 'backend')).length > 0);
  assert.deepEqual(offending('backend', ['curvature']), []);
});
