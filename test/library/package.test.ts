/**
 * The package as a user installs it: `npm pack` into a temp directory, unpacked as
 * node_modules/specpipe of a fresh consumer project (its dependencies linked from this checkout's
 * node_modules). The `exports` map's entry points load, `specpipe/linalg` loads no tfjs, internal
 * paths are refused, and the published .d.ts of all four entry points type-check with `strict` and
 * `skipLibCheck: false` and no DOM lib (they do not reach tfjs-core's declarations).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempWorkspace } from '../pipeline/cliHarness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const deps = realpathSync(join(repoRoot, 'node_modules'));
const TSC = join(deps, 'typescript', 'bin', 'tsc');

let consumer = '';

before(() => {
  const dir = tempWorkspace('specpipe-pack-');
  // --ignore-scripts: the package is already compiled (prepare would rebuild it).
  const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).trim();
  consumer = join(dir, 'consumer');
  const pkg = join(consumer, 'node_modules', 'specpipe');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, tgz.split('\n').pop()!), '-C', pkg, '--strip-components=1']);
  for (const name of readdirSync(deps))
    if (name !== 'specpipe') symlinkSync(join(deps, name), join(consumer, 'node_modules', name));
  writeFileSync(join(consumer, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
});

/** Node in the consumer project: the JSON a script prints. */
function nodeJson(script: string): unknown {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Which tfjs packages an import loaded (CommonJS modules imported from ES modules enter require.cache). */
const LOADED_TFJS = (specifier: string): string => `
import { createRequire } from 'node:module';
const m = await import('${specifier}');
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  exports: Object.keys(m).length,
  tfjs: [...new Set(loaded.filter((p) => p.includes('/@tensorflow/')).map((p) => p.split('/@tensorflow/')[1].split('/')[0]))].sort(),
}));`;

test('the exports map: four entry points load; specpipe/linalg loads no tfjs (specpipe itself does); internals are refused', () => {
  const linalg = nodeJson(LOADED_TFJS('specpipe/linalg')) as { exports: number; tfjs: string[] };
  assert.ok(linalg.exports > 20, `specpipe/linalg exports ${linalg.exports} names`);
  assert.deepEqual(linalg.tfjs, []);
  // The same probe sees tfjs when it is loaded: the check can fail.
  const root = nodeJson(LOADED_TFJS('specpipe')) as { tfjs: string[] };
  assert.ok(root.tfjs.includes('tfjs-core'), `specpipe loads ${root.tfjs.join(', ')}`);
  const names = nodeJson(`
const [c, p] = await Promise.all([import('specpipe/curvature'), import('specpipe/pipeline')]);
console.log(JSON.stringify([typeof c.Curvature, typeof c.hessianOperator, typeof p.runPipeline, typeof p.preparePlan, typeof p.runTable]));`);
  assert.deepEqual(names, ['function', 'function', 'function', 'function', 'function']);
  const internal = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "await import('specpipe/dist/src/store/lease.js')"],
    {
      cwd: consumer,
      encoding: 'utf8',
    },
  );
  assert.notEqual(internal.status, 0);
  assert.match(internal.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});

function tsc(
  files: Record<string, string>,
  compilerOptions: Record<string, unknown>,
): { status: number | null; errors: string[] } {
  const dir = join(consumer, `check-${Object.keys(files).join('-').replace(/\W/g, '')}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const options = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { ...options, ...compilerOptions }, files: Object.keys(files) }, null, 2),
  );
  const r = spawnSync(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, errors: r.stdout.split('\n').filter((l) => /error TS\d+/.test(l)) };
}

test('a strict consumer of specpipe/linalg type-checks with skipLibCheck false', () => {
  const r = tsc(
    {
      'linalg.ts': `import { diagonalOperator, topEigenpairs, slqDensity, type LinearOperator } from 'specpipe/linalg';
const op: LinearOperator = diagonalOperator(Float64Array.of(1, 2, 3));
const top: number | undefined = (await topEigenpairs(op, 1, { seed: 1 })).pairs[0]?.value;
export { top, slqDensity };
`,
    },
    { lib: ['ES2022'], types: ['node'] },
  );
  assert.deepEqual(r.errors, []);
  assert.equal(r.status, 0);
});

test('a strict consumer of all four entry points type-checks with skipLibCheck false, without the DOM lib', () => {
  const r = tsc(
    {
      'all.ts': `import { initBackend, trainModel, buildNetwork, evaluateModel, type Network, type Tensor, type TrainOptions } from 'specpipe';
import { lanczos, type LinearOperator } from 'specpipe/linalg';
import { Curvature, type CurvatureProblem, type ExecutionOptions } from 'specpipe/curvature';
import { runPipeline, readRunRecord, type RunRecord, type RunPipelineOptions, type StageContext } from 'specpipe/pipeline';
const options: RunPipelineOptions = { store: 'artifacts', set: ['train.with.epochs=1'] };
export async function run(): Promise<RunRecord> { return (await runPipeline('p.yaml', options)).record; }
// Tensors pass from training to the curvature session as specpipe's own Tensor type.
export async function trainedCurvature(options: TrainOptions): Promise<Curvature> {
  const { params, buffers }: { params: Tensor[]; buffers: Tensor[] } = await trainModel(options);
  const problem: CurvatureProblem = { network: options.network, params, buffers, data: options.train, loss: 'cross-entropy' };
  return Curvature.open(problem, { workers: 2 } satisfies ExecutionOptions);
}
export const network: Network = buildNetwork({ kind: 'mlp', input: [1, 28, 28], hidden: [32], activation: 'relu', classes: 10 });
export type { ExecutionOptions, LinearOperator, StageContext };
export { initBackend, evaluateModel, lanczos, readRunRecord };
`,
    },
    { lib: ['ES2022'], types: ['node'] },
  );
  assert.deepEqual(r.errors, []);
  assert.equal(r.status, 0);
});
