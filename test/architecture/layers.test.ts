import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The import direction of docs/architecture.md, checked on the sources: a file may import its own
 * layer or a lower one, never a higher one; and no import circle between files.
 *   util ← store, linalg, nn, data, backend, params ← curvature, train ← decompose, embed, report
 *        ← stages ← pipeline, executor ← cli ← index.ts
 */
const RANK: Readonly<Record<string, number>> = {
  util: 0,
  params: 1,
  store: 1,
  linalg: 1,
  nn: 1,
  data: 1,
  backend: 1,
  curvature: 2,
  train: 2,
  decompose: 3,
  embed: 3,
  report: 3,
  stages: 4,
  pipeline: 5,
  executor: 5,
  cli: 6,
  'index.ts': 7,
};

const src = join(process.cwd(), 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file, type-only ones included (a type import still couples the layers). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\(\s*)'(\.[^']+)'/g))
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

const layer = (file: string): string => relative(src, file).split(/[\\/]/)[0]!;
const files = sources(src);
const graph = new Map(files.map((f) => [f, imports(f)]));

test('every layer named in the rule exists, and every folder of src/ has a rank', () => {
  for (const f of files) assert.ok(RANK[layer(f)] !== undefined, `src/${layer(f)} has no rank in the layer rule`);
});

test('imports point down the layers only', () => {
  const bad: string[] = [];
  for (const [f, targets] of graph)
    for (const t of targets)
      if ((RANK[layer(t)] ?? 99) > RANK[layer(f)]!)
        bad.push(`src/${relative(src, f)} (${layer(f)}) imports src/${relative(src, t)} (${layer(t)})`);
  assert.deepEqual(bad, [], `upward imports:\n${bad.join('\n')}`);
});

test('no import circle between files (static and dynamic imports; type-only ones excluded)', () => {
  const staticGraph = new Map(
    files.map((f) => {
      const text = readFileSync(f, 'utf8');
      const deps = [
        ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^'";]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g),
      ].map((m) => resolve(dirname(f), (m[1] ?? m[2])!.replace(/\.js$/, '.ts')));
      return [f, deps];
    }),
  );
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]): void => {
    const s = state.get(f);
    if (s === 'done') return;
    if (s === 'open') {
      cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => relative(src, x)).join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const d of staticGraph.get(f) ?? []) visit(d, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, [], `import circles:\n${cycles.join('\n')}`);
});
