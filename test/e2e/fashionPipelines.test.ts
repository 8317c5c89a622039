/**
 * Issue 13: the paper-scale Fashion-MNIST pipelines (pipelines/fashion-classes.yaml, fashion-samples.yaml,
 * fashion-epochs.yaml, fashion-convnets.yaml, fashion-vgg-seeds.yaml) end to end, down-scaled. Each file is
 * validated as it stands (its full instance count), then run through `--set` overrides that keep every stage,
 * every stage kind and every matrix axis but shrink the rest (a few images per class, 1–2 epochs, 2–6 Lanczos
 * steps, seeds 0 and 1 where the file has seeds, the conv nets at their smallest), on the real Debian
 * Fashion-MNIST files. Checked: every instance executed, the instance count, each instance's artifacts on disk,
 * the report names every axis value, and a second run is fully cached.
 *
 * Cases are data (one row per pipeline). The conv nets run at the smallest sizes the models allow (VGG11 and
 * ResNet18 at width 1/64, DenseNet40 at growth 1) on 1 image per class, with 2–3 products per operator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_DEFAULT_ROOT } from '../../src/data/fashionMnist.js';
import { readArrowFile } from '../../src/store/arrowFile.js';
import { runCli, runJson, statuses, tempWorkspace, type RunJson } from '../pipeline/cliHarness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');
const HAVE_FASHION = existsSync(join(FASHION_MNIST_DEFAULT_ROOT, 'train-images-idx3-ubyte.gz'));

/** The smallest width the conv nets allow: every channel count rounds to max(1, round(c / 64)). */
const W = 0.015625;

interface Case {
  /** File under pipelines/. */
  readonly file: string;
  /** `specpipe validate` of the file as it stands. */
  readonly full: { stages: number; instances: number };
  /** `--set` overrides of the down-scaled run. */
  readonly sets: readonly string[];
  /** Instances of the down-scaled run. */
  readonly instances: number;
  /** Text the report must contain: one per value of every net and stage axis of the down-scaled run. */
  readonly mentions: readonly string[];
  /** Instances pooled into one row of the report's table of numbers: the seeds (1 without `seeds`). */
  readonly seeds: number;
  /** Why the pooling check is expected to fail (a known report bug), if it is. */
}

const MLP_SPECTRA = [
  'spectra.with.lanczos_steps=6',
  'spectra.with.start_vectors=1',
  'spectra.with.top_k=4',
  'spectra.with.trace_matvecs=6',
  'decompose.with.trace_matvecs=6',
];

const net = (stage: string, model: string): string[] => [
  `${stage}.with.model=${model}`,
  `${stage}.with.train_per_class=1`,
  `${stage}.with.epochs=1`,
  `${stage}.with.checkpoints=[0, 1]`,
  `${stage}.with.batch_size=10`,
];
const few = (stage: string, maxSamples: number): string[] => [
  `${stage}.with.lanczos_steps=2`,
  `${stage}.with.start_vectors=1`,
  `${stage}.with.top_k=1`,
  `${stage}.with.top_k_matvecs=3`,
  `${stage}.with.max_samples=${maxSamples}`,
];
const OPERATORS = ['hessian', 'ggn', 'residual'];
/** `net` for the LeNet stages of fashion-samples (their matrix sets train_per_class), on the 2 test images per class. */
const TINY_LENET = (stage: string): string[] => [
  ...net(stage, '{ kind: lenet, channels: [2, 2], hidden: 4, kernel: 3 }'),
  `${stage}.with.test_per_class=2`,
];
const FEW_LANCZOS = (stage: string): string[] => [
  `${stage}.with.lanczos_steps=4`,
  `${stage}.with.top_k=10`,
  `${stage}.with.top_k_matvecs=40`,
];

const CASES: readonly (Case & { name: string })[] = [
  {
    name: 'fashion-classes: C = 2, 3 × seeds 0, 1',
    file: 'fashion-classes.yaml',
    full: { stages: 5, instances: 126 },
    sets: [
      'seeds=[0, 1]',
      'data.matrix.classes=[2, 3]',
      'data.with.train_per_class=4',
      'data.with.test_per_class=2',
      'train.with.model={ kind: mlp, hidden: [8, 8] }',
      'train.with.epochs=2',
      'train.with.checkpoints=[0, 2]',
      ...MLP_SPECTRA,
    ],
    // 2 data, 2×2 train, 4×6 spectra, 4 decompose, 1 report
    instances: 2 + 4 + 24 + 4 + 1,
    mentions: ['classes=2', 'classes=3', 'seed 0', 'seed 1', ...OPERATORS],
    seeds: 2,
  },
  {
    name: 'fashion-samples: n = 2, 4 per class (matrix include) × seeds 0, 1',
    file: 'fashion-samples.yaml',
    full: { stages: 12, instances: 326 },
    sets: [
      'seeds=[0, 1]',
      'data.with.train_per_class=4',
      'data.with.test_per_class=2',
      'train.matrix.train_per_class=[2, 4]',
      'train.matrix.include=[{ train_per_class: 2, epochs: 2, checkpoints: [0, 2] }, { train_per_class: 4, epochs: 1, checkpoints: [0, 1] }]',
      'train.with.model={ kind: mlp, hidden: [8, 8] }',
      'train.with.epochs=1',
      'train.with.checkpoints=[0, 1]',
      ...MLP_SPECTRA,
      'bulk.with.lanczos_steps=6',
      'bulk.with.top_k=3',
      'bulk.with.deflate=3',
      'lenet.matrix.train_per_class=[2, 4]',
      'lenet.matrix.include=[{ train_per_class: 2, epochs: 2, checkpoints: [0, 2] }, { train_per_class: 4, epochs: 1, checkpoints: [0, 1] }]',
      ...TINY_LENET('lenet'),
      ...FEW_LANCZOS('lenet_spectra'),
      'lenet_decompose.with.trace_matvecs=2',
      'lenet_decompose.with.b2_bottom_matvecs=2',
      // LeNet's subsampled row at its own n (3): its instances pool with no other row's.
      'lenet_5000.matrix.train_per_class=[3]',
      ...TINY_LENET('lenet_5000'),
      ...FEW_LANCZOS('lenet_5000_spectra'),
      'lenet_5000_spectra.with.max_samples=20',
      'lenet_5000_decompose.with.trace_matvecs=2',
      'lenet_5000_decompose.with.b2_bottom_matvecs=2',
      'lenet_5000_decompose.with.samples_per_class=2',
    ],
    // 1 data; MLP: 2×2 train, 4×6 spectra, 4×2 bulk, 4 decompose; LeNet: 2×2 train, 4×6 spectra, 4 decompose,
    // then at n = 3: 2 train, 2×6 spectra, 2 decompose; 1 report
    instances: 1 + 4 + 24 + 8 + 4 + (4 + 24 + 4) + (2 + 12 + 2) + 1,
    mentions: ['2/class', '3/class', '4/class', 'seed 0', 'seed 1', ...OPERATORS, 'hessian-deflated', 'ggn-deflated', 'lenet'],
    seeds: 2,
  },
  {
    name: 'fashion-epochs: n = 2, 4 per class × checkpoints 0, 2',
    file: 'fashion-epochs.yaml',
    full: { stages: 6, instances: 368 },
    sets: [
      'seeds=[0]',
      'data.with.train_per_class=4',
      'data.with.test_per_class=2',
      'train.matrix.train_per_class=[2, 4]',
      'train.with.epochs=2',
      'train.with.checkpoints=[0, 1, 2]',
      'dynamics.matrix.checkpoint=[0, 2]',
      'dynamics.with.lanczos_steps=6',
      'dynamics.with.top_k=3',
      'dynamics.with.trace_matvecs=6',
      'decompose.matrix.checkpoint=[0, 2]',
      'decompose.with.trace_matvecs=6',
      'pieces.with.lanczos_steps=6',
      'pieces.with.top_k=3',
    ],
    // 1 data, 2 train, 2×2×3 dynamics, 2×2 decompose, 2×2 pieces, 1 report
    instances: 1 + 2 + 12 + 4 + 4 + 1,
    mentions: ['2/class', '4/class', 'epoch 0', 'epoch 2', ...OPERATORS, 'b2'],
    seeds: 1,
  },
  {
    name: 'fashion-convnets: VGG11, ResNet18 at width 1/64, DenseNet40 at growth 1',
    file: 'fashion-convnets.yaml',
    full: { stages: 10, instances: 21 },
    sets: [
      'data.with.train_per_class=1',
      'data.with.test_per_class=1',
      ...net('vgg', `{ kind: vgg11, width: ${W} }`),
      ...net('resnet', `{ kind: resnet18, width: ${W} }`),
      ...net('densenet', '{ kind: densenet40, growth: 1 }'),
      'densenet.with.test_per_class=1',
      ...few('vgg_spectra', 2),
      'vgg_spectra.with.trace_matvecs=3',
      'vgg_decompose.with.trace_matvecs=3',
      'vgg_decompose.with.samples_per_class=1',
      'vgg_embed.with.iterations=100',
      ...few('resnet_spectra', 2),
      ...few('densenet_spectra', 2),
    ],
    // 1 data; VGG11: train, 6 spectra (Hess, G and H on train and test), decompose, embed; ResNet18: train,
    // 6 spectra; DenseNet40: train, 2 spectra (Hess on train and test); report
    instances: 1 + 9 + 7 + 3 + 1,
    mentions: ['vgg11', 'resnet18', 'densenet40', ...OPERATORS],
    seeds: 1,
  },
  {
    name: 'fashion-vgg-seeds: VGG11 at width 1/64 × seeds 0, 1',
    file: 'fashion-vgg-seeds.yaml',
    full: { stages: 4, instances: 11 },
    sets: [
      'seeds=[0, 1]',
      'data.with.train_per_class=1',
      'data.with.test_per_class=1',
      ...net('vgg', `{ kind: vgg11, width: ${W} }`),
      ...few('vgg_spectra', 2),
      'vgg_spectra.with.trace_matvecs=3',
    ],
    // 1 data, 2 train, 2×2 spectra (Hess on train and test), 1 report
    instances: 1 + 2 + 4 + 1,
    mentions: ['vgg11', 'seed 0', 'seed 1', 'hessian'],
    seeds: 2,
  },
];

interface Manifest {
  kind: string;
  params: Record<string, unknown>;
}

/** Each instance's files by kind: spectra their arrays, decompositions their JSON, the report its HTML. */
function checkArtifacts(run: RunJson): string {
  let reportHtml: string | undefined;
  for (const s of run.stages) {
    const m = JSON.parse(readFileSync(join(s.artifacts, 'manifest.json'), 'utf8')) as Manifest;
    const has = (f: string): void => assert.ok(existsSync(join(s.artifacts, f)), `${s.name}: ${f}`);
    if (m.kind === 'spectrum/slq') {
      has('spectrum.arrow');
      has('density.arrow');
      const k = Number(m.params['top_k'] ?? 0);
      if (k > 0) {
        const values = readArrowFile(join(s.artifacts, 'outliers.arrow')).columns['value'] as Float64Array;
        assert.equal(values.length, k, `${s.name}: top-${k} eigenvalues in outliers.arrow`);
        assert.ok(values.every(Number.isFinite), `${s.name}: finite eigenvalues ${Array.from(values)}`);
      }
    } else if (m.kind === 'decompose/class-gradients') has('decomposition.json');
    else if (m.kind === 'train/sgd') has('report-fragment.json');
    else if (m.kind === 'embed/tsne') has('report-fragment.json');
    else if (m.kind === 'report/html') {
      has('report.html');
      reportHtml = readFileSync(join(s.artifacts, 'report.html'), 'utf8');
    }
  }
  assert.ok(reportHtml !== undefined, 'the run has a report/html instance');
  return reportHtml;
}

for (const c of CASES) {
  const skip =
    !HAVE_FASHION && `${FASHION_MNIST_DEFAULT_ROOT} absent: apt-get install dataset-fashion-mnist (.ci/run installs it)`;
  test(`${c.name}: validates as it stands, runs down-scaled through every stage, then fully cached`, { skip }, async (t) => {
    const file = join(repoRoot, 'pipelines', c.file);
    assert.ok(existsSync(file), `${file} exists`);
    const dir = tempWorkspace('specpipe-fashion-');
    const v = await runCli(['validate', file], { cwd: dir });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), `${file}: ok (${c.full.stages} stages, ${c.full.instances} instances)`);

    const sets = c.sets.flatMap((s) => ['--set', s]);
    const started = performance.now();
    const run = await runJson([file, ...sets], { cwd: dir });
    t.diagnostic(`${basename(c.file)}: ${run.stages.length} instances in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(run.stages.length, c.instances, JSON.stringify(statuses(run)));
    assert.ok(
      run.stages.every((s) => s.status === 'executed'),
      JSON.stringify(statuses(run)),
    );
    const stagesRun = new Set(run.stages.map((s) => s.name.replace(/\[.*$/, '')));
    assert.equal(stagesRun.size, c.full.stages, `every stage ran: ${[...stagesRun].join(', ')}`);

    const html = checkArtifacts(run);
    for (const m of c.mentions) assert.ok(html.includes(m), `the report mentions ${m}`);

    const again = await runJson([file, ...sets], { cwd: dir });
    assert.equal(again.stages.length, c.instances);
    assert.deepEqual(
      again.stages.filter((s) => s.status !== 'cached').map((s) => s.name),
      [],
      'second run fully cached',
    );
    assert.deepEqual(
      again.stages.map((s) => s.key),
      run.stages.map((s) => s.key),
    );

    // No row of the table of numbers pools instances of different axis values: at most one per seed.
    await t.test('the table of numbers keeps every axis apart (n ≤ seeds)', () => {
      const numbers = html.slice(html.indexOf('<section id="numbers">'));
      const ns = [...numbers.matchAll(/\(n = (\d+)\)/g)].map((m) => Number(m[1]));
      if (c.seeds > 1) assert.ok(ns.length > 0, 'the table of numbers has mean ± sd rows');
      assert.deepEqual(
        ns.filter((n) => n > c.seeds),
        [],
        `rows pooling more than ${c.seeds} instance(s)`,
      );
    });
  });
}
