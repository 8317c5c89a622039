/**
 * Seeds as a matrix axis (src/pipeline/seedAxis.ts): a `seed` axis sets an instance's seed (key,
 * ctx.seed, name), `seeds: [...]` fans the training stages out, downstream instances inherit the
 * seed, bad values are positioned errors, and pipelines without seeds keep exactly their keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerBuiltinStageKinds } from '../../src/stages/builtin.js';
import { getStageKind } from '../../src/stages/registry.js';
import { loadPipeline } from '../../src/pipeline/loadPipeline.js';
import { buildPlan, type Plan } from '../../src/pipeline/plan.js';
import { preparePlan } from '../../src/pipeline/preparePlan.js';
import { PipelineError } from '../../src/pipeline/diagnostic.js';
import { stageKey, type KeyIngredients } from '../../src/store/stageKey.js';

registerBuiltinStageKinds();

const REPO = join(import.meta.dirname, '..', '..', '..');

/** A small pipeline of the built-in kinds: data → train → spectrum, plus `extra` top-level lines. */
function tiny(extra = '', trainMatrix = '', spectrumMatrix = ''): string {
  return [
    'name: tiny',
    'seed: 0',
    ...(extra === '' ? [] : [extra]),
    'stages:',
    '  data:',
    '    uses: data/mnist',
    '    with: { train_per_class: 10, test_per_class: 5 }',
    '  train:',
    '    uses: train/sgd',
    '    needs: [data]',
    ...(trainMatrix === '' ? [] : [`    matrix: ${trainMatrix}`]),
    '    with: { model: { kind: mlp, hidden: [16] }, epochs: 1, batch_size: 20, checkpoints: [0, 1] }',
    '  spectrum:',
    '    uses: spectrum/slq',
    '    needs: [train]',
    ...(spectrumMatrix === '' ? [] : [`    matrix: ${spectrumMatrix}`]),
    '    with: { operator: ggn, lanczos_steps: 8, start_vectors: 1, top_k: 3 }',
    '',
  ].join('\n');
}

function plan(source: string, overrides: string[] = []): Plan {
  return buildPlan(loadPipeline(join(REPO, 'tiny.yaml'), { source, overrides }), { backendId: 'cpu' });
}

function byName(p: Plan): Map<string, Plan['nodes'][number]> {
  return new Map(p.nodes.map((n) => [n.name, n]));
}

function errorOf(source: string, overrides: string[] = []): string {
  try {
    buildPlan(loadPipeline('bad.yaml', { source, overrides }), { backendId: 'cpu' });
  } catch (e) {
    if (e instanceof PipelineError) return e.message;
    throw e;
  }
  return 'OK';
}

const GOLDEN = join(REPO, 'test', 'pipeline', 'fixtures', 'unseededKeyIngredients.json');

/** A plan's key ingredients without `version`, upstream keys as instance names (what the golden file holds). */
function recordedIngredients(p: Plan): Record<string, unknown> {
  const nameOf = new Map(p.nodes.map((n) => [n.key as string, n.name]));
  const names = (u: unknown): unknown =>
    typeof u === 'string' ? nameOf.get(u) : Object.fromEntries(Object.entries(u as object).map(([k, v]) => [k, names(v)]));
  return Object.fromEntries(
    p.nodes.map((n) => {
      const { version: _version, upstream, ...rest } = n.ingredients;
      return [n.name, { ...rest, upstream: names(upstream) }];
    }),
  );
}

test('pipelines without seeds keep exactly the key ingredients (and so the keys) they had before seeds existed', async (t) => {
  // Recorded from the planner before seeds existed: ingredients without `version` (a kind's version bump is no
  // grammar change), upstream keys as instance names. After a deliberate change of a schema default or an input,
  // record them again: SPECPIPE_RECORD_KEYS=1 node --test dist/test/pipeline/seeds.test.js, then prettier --write the file.
  const files = ['pipelines/mnist-mlp.yaml', 'pipelines/minimal.yaml'];
  if (process.env['SPECPIPE_RECORD_KEYS'] === '1') {
    const out: Record<string, unknown> = {};
    for (const f of files) out[f] = recordedIngredients((await preparePlan(join(REPO, f), [], { resolveBackend: false })).plan);
    writeFileSync(GOLDEN, JSON.stringify(out, null, 1) + '\n');
    t.skip(`recorded ${GOLDEN}`);
    return;
  }
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<
    string,
    Record<string, Omit<KeyIngredients, 'version' | 'upstream'> & { upstream: Record<string, unknown> }>
  >;
  assert.deepEqual(Object.keys(golden), files);
  for (const [file, instances] of Object.entries(golden)) {
    const { plan: p } = await preparePlan(join(REPO, file), [], { resolveBackend: false });
    assert.deepEqual(
      p.nodes.map((n) => n.name),
      Object.keys(instances),
      `${file}: instance names`,
    );
    const keyOf = new Map<string, string>();
    for (const n of p.nodes) {
      const g = instances[n.name]!;
      const mapUp = (u: unknown): unknown =>
        typeof u === 'string' ? keyOf.get(u) : Object.fromEntries(Object.entries(u as object).map(([k, v]) => [k, mapUp(v)]));
      const expected = stageKey({
        ...g,
        version: getStageKind(g.kind)!.version,
        upstream: mapUp(g.upstream) as KeyIngredients['upstream'],
      });
      assert.equal(n.key, expected, `${file}: key of ${n.name}`);
      assert.equal(n.seed, 0, `${file}: seed of ${n.name}`);
      keyOf.set(n.name, n.key);
    }
  }
});

test('seeds: [0, 1, 2] fans train out; spectrum inherits the seed; seed 0 equals the unseeded pipeline', () => {
  const plain = byName(plan(tiny()));
  const seeded = plan(tiny('seeds: [0, 1, 2]'));
  assert.deepEqual(
    seeded.nodes.map((n) => [n.name, n.seed]),
    [
      ['data', 0],
      ['train[seed=0]', 0],
      ['train[seed=1]', 1],
      ['train[seed=2]', 2],
      ['spectrum[seed=0]', 0],
      ['spectrum[seed=1]', 1],
      ['spectrum[seed=2]', 2],
    ],
  );
  const s = byName(seeded);
  // The seed is no param: it is the key's `seed` ingredient and the instance's matrix cell / coordinates.
  for (const n of seeded.nodes.filter((n) => n.stage !== 'data')) {
    assert.equal(Object.hasOwn(n.params, 'seed'), false, n.name);
    assert.equal(n.ingredients.seed, n.seed, n.name);
    assert.equal(n.coords['seed'], n.seed, n.name);
  }
  assert.deepEqual(s.get('train[seed=1]')!.matrix, { seed: 1 });
  assert.deepEqual(s.get('spectrum[seed=2]')!.matrix, {});
  // Seed 0 = the pipeline seed: the same keys as without seeds (the cache is shared).
  assert.equal(s.get('data')!.key, plain.get('data')!.key);
  assert.equal(s.get('train[seed=0]')!.key, plain.get('train')!.key);
  assert.equal(s.get('spectrum[seed=0]')!.key, plain.get('spectrum')!.key);
  // Every other seed: a key of its own, downstream included.
  const keys = seeded.nodes.map((n) => n.key);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(s.get('spectrum[seed=1]')!.needs[0]!.key, s.get('train[seed=1]')!.key);
  // --set seeds=[…] is the same as writing it.
  assert.deepEqual(
    plan(tiny(), ['seeds=[0,1,2]']).nodes.map((n) => n.key),
    keys,
  );
});

test('a seed axis on one stage seeds that stage and its downstream only, and composes with other axes', () => {
  const p = byName(plan(tiny('', '', '{ seed: [0, 7], operator: [ggn, hessian] }')));
  assert.deepEqual(
    [...p.keys()],
    [
      'data',
      'train',
      'spectrum[seed=0,operator=ggn]',
      'spectrum[seed=0,operator=hessian]',
      'spectrum[seed=7,operator=ggn]',
      'spectrum[seed=7,operator=hessian]',
    ],
  );
  assert.equal(p.get('train')!.seed, 0);
  const s7 = p.get('spectrum[seed=7,operator=hessian]')!;
  assert.equal(s7.seed, 7);
  assert.equal(s7.params['operator'], 'hessian');
  assert.equal(Object.hasOwn(s7.params, 'seed'), false);
  const plain = byName(plan(tiny()));
  const g0 = p.get('spectrum[seed=0,operator=ggn]')!;
  assert.equal(g0.key, plain.get('spectrum')!.key);
  // An own seed axis below a seeded stage wins over the inherited seed; both coordinates stay in the name.
  const both = plan(tiny('', '{ seed: [1, 2] }', '{ seed: [5] }'));
  assert.deepEqual(
    both.nodes.filter((n) => n.stage === 'spectrum').map((n) => [n.name, n.seed]),
    [
      ['spectrum[train.seed=1,spectrum.seed=5]', 5],
      ['spectrum[train.seed=2,spectrum.seed=5]', 5],
    ],
  );
});

test('bad seeds are positioned errors naming the value', () => {
  assert.equal(
    errorOf(tiny('seeds: [0, -1]')),
    ['bad.yaml:3:12: seeds[1] must be >= 0, received -1', '  seeds: [0, -1]', '             ^^'].join('\n'),
  );
  assert.equal(
    errorOf(tiny('seeds: "x"')),
    ['bad.yaml:3:8: seeds must be an array, received "x"', '  seeds: "x"', '         ^^^'].join('\n'),
  );
  assert.equal(
    errorOf(tiny('seeds: [0, 1, 1]')),
    ['bad.yaml:3:15: seeds[2] repeats seed 1 (already seeds[1]); each seed once', '  seeds: [0, 1, 1]', '                ^'].join(
      '\n',
    ),
  );
  assert.equal(
    errorOf(tiny('', '{ seed: [0, 1.5, 3, 3] }')),
    [
      'bad.yaml:10:25: stages.train.matrix.seed[1] must be an integer seed from 0 to 4294967295, received 1.5',
      '      matrix: { seed: [0, 1.5, 3, 3] }',
      '                          ^^^',
      'bad.yaml:10:33: stages.train.matrix.seed[3] repeats seed 3 (already seed[2]); each seed once',
      '      matrix: { seed: [0, 1.5, 3, 3] }',
      '                                  ^',
    ].join('\n'),
  );
  assert.equal(
    errorOf(tiny('seeds: [0, 1]', '{ seed: [0, 1] }')),
    [
      'bad.yaml:11:15: stages.train.matrix names a seed and the top-level seeds fans train out over seeds too; keep one of the two',
      '      matrix: { seed: [0, 1] }',
      '                ^^^^',
    ].join('\n'),
  );
  assert.equal(
    errorOf('name: t\nseeds: [1, 2]\nstages:\n  data:\n    uses: data/mnist\n'),
    [
      'bad.yaml:2:1: seeds fans out the training stages (kinds train/…), and this pipeline has none; put a matrix axis "seed" on the stage to seed instead',
      '  seeds: [1, 2]',
      '  ^^^^^',
    ].join('\n'),
  );
  assert.equal(
    errorOf(tiny(), ['seeds=[0,"a"]']),
    ['bad.yaml:1:1: seeds[1] must be an integer, received "a" (from --set seeds=[0,"a"])', '  name: tiny', '  ^^^^^^^^^^'].join(
      '\n',
    ),
  );
});

test('with seeds:, a training stage matrix composes with the seed axis and its exclude may name seed', () => {
  const p = plan(tiny('seeds: [0, 1, 2]', '{ epochs: [1, 2], exclude: [{ seed: 2, epochs: 2 }] }'));
  assert.deepEqual(
    p.nodes.filter((n) => n.stage === 'train').map((n) => [n.name, n.seed, n.params['epochs']]),
    [
      ['train[seed=0,epochs=1]', 0, 1],
      ['train[seed=0,epochs=2]', 0, 2],
      ['train[seed=1,epochs=1]', 1, 1],
      ['train[seed=1,epochs=2]', 1, 2],
      ['train[seed=2,epochs=1]', 2, 1],
    ],
  );
  assert.equal(p.nodes.filter((n) => n.stage === 'spectrum').length, 5);
  // Without seeds:, exclude naming seed is still an unknown axis.
  assert.match(errorOf(tiny('', '{ epochs: [1, 2], exclude: [{ seed: 2 }] }')), /names "seed", which is not a matrix axis/);
});

test('pipelines/mnist-mlp-seeds.yaml is the default pipeline with seeds [0, 1, 2]: same stages, same params', () => {
  const yaml = (f: string) => readFileSync(join(REPO, 'pipelines', f), 'utf8');
  const stagesOf = (text: string) => text.slice(text.indexOf('\nstages:\n'));
  assert.equal(stagesOf(yaml('mnist-mlp-seeds.yaml')), stagesOf(yaml('mnist-mlp.yaml')), 'the stages: sections differ');
  assert.match(yaml('mnist-mlp-seeds.yaml'), /\nseeds: \[0, 1, 2\]\n/);
});
