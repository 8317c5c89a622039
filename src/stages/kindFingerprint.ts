import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * A stage kind's implementation fingerprint: sha256 over the source files that compute its results,
 * so that a change to them without a `version` bump (which would reuse stale cached artifacts) fails
 * a test (test/stages/kindVersions.test.ts against src/stages/kindVersions.json).
 *
 * The files: every .ts file of the kind's folder (src/stages/<group>-<name>/, or src/stages/<group>/
 * for the data/* and embed/* groups), and, transitively, every file they import at run time
 * (static, re-exported and dynamic relative imports; `import type` excluded) in the numerical layers
 * linalg/, curvature/, nn/, train/, data/, decompose/, embed/, report/ and stages/. Not followed:
 * backend/ (its kernels are tested equal to tfjs's stock kernels, and the backend id is a key
 * ingredient of its own), store/, util/, pipeline/, executor/, cli/ (I/O and orchestration).
 * Comments and blank lines do not count, so documentation edits need no bump.
 */
const FOLLOWED = new Set(['linalg', 'curvature', 'nn', 'train', 'data', 'decompose', 'embed', 'report', 'stages']);

/** The folder under src/stages/ holding a kind's code. */
export function kindFolder(srcDir: string, kind: string): string {
  const [group, name] = kind.split('/') as [string, string];
  const own = join(srcDir, 'stages', `${group}-${name}`);
  return existsSync(own) ? own : join(srcDir, 'stages', group);
}

function runtimeImports(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
  for (const m of source.matchAll(re)) {
    if (m[3] !== undefined && m[2] === undefined) out.push(m[3]);
    if (m[4] !== undefined) out.push(m[4]);
  }
  return out;
}

/** Source without comments and blank lines (a documentation edit keeps the fingerprint). */
function normalised(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\/\/.*$/, '').trimEnd())
    .filter((l) => l.trim() !== '')
    .join('\n');
}

/** The files behind a kind (relative to srcDir, sorted) and their fingerprint. */
export function kindFingerprint(srcDir: string, kind: string): { fingerprint: string; files: string[] } {
  const folder = kindFolder(srcDir, kind);
  const queue = readdirSync(folder)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(folder, f));
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const layer = relative(srcDir, target).split(/[\\/]/)[0]!;
      if (FOLLOWED.has(layer)) queue.push(target);
    }
  }
  const files = [...seen].map((f) => relative(srcDir, f).split('\\').join('/')).sort();
  const h = createHash('sha256');
  for (const f of files) h.update(`${f}\n${normalised(readFileSync(join(srcDir, f), 'utf8'))}\n`);
  return { fingerprint: h.digest('hex'), files };
}
