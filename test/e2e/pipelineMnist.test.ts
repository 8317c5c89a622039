/**
 * The default pipeline file (pipelines/mnist-mlp.yaml) run end to end on real MNIST digits with the
 * real stage kinds, shrunk through --set (few samples, 1 epoch, 4 Lanczos steps) to stay fast; `--only spectra`
 * keeps stages added later (decomposition, embedding, report) out of this test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readArrowFile } from '../../src/store/arrowFile.js';
import { runCli, runJson, statuses, tempWorkspace } from '../pipeline/cliHarness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const PIPELINES = join(repoRoot, 'pipelines');
const DEFAULT = join(PIPELINES, 'mnist-mlp.yaml');

const SHRINK = [
  'data.with.train_per_class=10',
  'data.with.test_per_class=5',
  'train.matrix.train_per_class=[5, 10]',
  'train.with.epochs=1',
  'train.with.checkpoints=[0, 1]',
  'spectra.with.lanczos_steps=4',
  'spectra.with.start_vectors=1',
]
  .flatMap((s) => ['--set', s])
  .concat(['--only', 'spectra']);

test('every pipeline in pipelines/ validates', async () => {
  const files = readdirSync(PIPELINES).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.includes('mnist-mlp.yaml'));
  const r = await runCli(['validate', ...files.map((f) => join(PIPELINES, f))], { cwd: tempWorkspace() });
  assert.equal(r.code, 0, r.stderr);
  for (const f of files) assert.match(r.stdout, new RegExp(`${f.replace('.', '\\.')}: ok \\(\\d+ stages, \\d+ instances\\)`));
});

test('the default pipeline runs on real MNIST (shrunk), then reruns fully cached', async () => {
  const dir = tempWorkspace();
  const first = await runJson([DEFAULT, ...SHRINK], { cwd: dir });
  const names = first.stages.map((s) => s.name);
  assert.equal(names.length, 1 + 2 + 12);
  assert.ok(names.includes('spectra[train_per_class=5,operator=residual,split=test]'));
  assert.ok(
    first.stages.every((s) => s.status === 'executed'),
    first.stderr,
  );

  const train = first.stages.find((s) => s.name === 'train[train_per_class=10]')!;
  for (const f of ['checkpoint-epoch-0.safetensors', 'checkpoint-epoch-1.safetensors', 'metrics.arrow'])
    assert.ok(existsSync(join(train.artifacts, f)), f);
  const ggn = first.stages.find((s) => s.name === 'spectra[train_per_class=10,operator=ggn,split=train]')!;
  const m = readArrowFile(join(ggn.artifacts, 'spectrum.arrow')).columns;
  const nodes = m['nodes'] as Float64Array;
  const weights = m['weights'] as Float64Array;
  assert.equal(nodes.length, 4);
  assert.ok(Math.abs(weights.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'quadrature weights sum to 1');
  assert.ok(Math.min(...nodes) > -1e-4, `G is PSD: smallest Ritz value ${Math.min(...nodes)}`);
  assert.ok(existsSync(join(ggn.artifacts, 'log_density_positive.arrow')));

  const again = await runJson([DEFAULT, ...SHRINK], { cwd: dir });
  assert.ok(
    again.stages.every((s) => s.status === 'cached'),
    JSON.stringify(statuses(again)),
  );
  const engineSeconds = Number(/in (\d+\.\d+) s \(run/.exec(again.stderr)![1]);
  assert.ok(engineSeconds < 2, `cached rerun took ${engineSeconds} s in the engine`);
});

test('a spectrum stage spread over 2 shard processes (with.processes) gives the in-thread spectrum', async () => {
  const dir = tempWorkspace();
  const only = ['--only', 'spectra[train_per_class=10,operator=hessian,split=train]'];
  const inThread = await runJson([DEFAULT, ...SHRINK, ...only], { cwd: dir });
  const spectrum = (r: typeof inThread): Float64Array => {
    const s = r.stages.find((x) => x.name.startsWith('spectra['))!;
    return Float64Array.from(readArrowFile(join(s.artifacts, 'spectrum.arrow')).columns['nodes'] as Float64Array);
  };
  const a = spectrum(inThread);
  // processes is execution layout, not in the key: the same instance, recomputed with --force.
  const layout = ['--set', 'spectra.with.processes=2'];
  const cached = await runJson([DEFAULT, ...SHRINK, ...only, ...layout], { cwd: dir });
  assert.ok(
    cached.stages.every((s) => s.status === 'cached'),
    cached.stderr,
  );
  const sharded = await runJson([DEFAULT, ...SHRINK, ...only, ...layout, '--force', 'spectra'], { cwd: dir });
  const shardedStage = sharded.stages.find((x) => x.name.startsWith('spectra['))!;
  assert.equal(shardedStage.status, 'executed');
  assert.equal(shardedStage.key, inThread.stages.find((x) => x.name.startsWith('spectra['))!.key);
  const manifest = JSON.parse(readFileSync(join(shardedStage.artifacts, 'manifest.json'), 'utf8')) as {
    execution?: Record<string, unknown>;
  };
  assert.equal(manifest.execution?.['processes'], 2, 'the manifest records the layout it ran with');
  const b = spectrum(sharded);
  assert.equal(b.length, a.length);
  const scale = Math.max(...Array.from(a, Math.abs));
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= 1e-6 * scale, `Ritz value ${i}: ${x} vs ${b[i]}`));
});
