/**
 * The README documents every environment variable the sources read: each `SPECPIPE_…` name found in
 * src/ (TypeScript and the C source) appears in README.md's "Environment variables" table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('README.md names every SPECPIPE_ environment variable the sources read', () => {
  const names = new Set<string>();
  for (const f of sources(join(root, 'src')))
    for (const m of readFileSync(f, 'utf8').matchAll(/\bSPECPIPE_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0]);
  assert.ok(names.has('SPECPIPE_PRODUCTS_REDIS') && names.size >= 10, `found ${[...names].join(', ')}`);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = /## Environment variables\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  const table = new Set([...section.matchAll(/^\| `(SPECPIPE_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
  assert.deepEqual(
    [...names].filter((n) => !table.has(n)).sort(),
    [],
    'variables read in src/ but missing from the README table',
  );
});
