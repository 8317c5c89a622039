// Generators of VALID pipelines of the built-in kinds, for the pipeline fuzz suite: the DAG a real
// pipeline has (data → train → spectra / decompose → embed → report), each param drawn from its
// schema's range, a matrix axis now and then. They are the seeds the hostile mutations start from,
// so that a good share of cases reaches planning; `tinyRunnablePipeline` is small enough to run
// (a few digits, a 784-k-C MLP, one epoch, a few Lanczos steps) within the suite's time bound.
import fc from 'fast-check';

/** One stage as the generator builds it; `render` writes it as YAML. */
export interface StageDraft {
  readonly name: string;
  readonly uses: string;
  readonly needs: readonly string[];
  readonly gather: readonly string[];
  readonly with: readonly (readonly [string, string])[];
  readonly matrix: readonly (readonly [string, readonly string[]])[];
}

/** Param name → arbitrary of its YAML text, within the schema's range. */
type ParamSpace = Record<string, fc.Arbitrary<string>>;

const int = (min: number, max: number) => fc.integer({ min, max }).map(String);
const pick = (...xs: string[]) => fc.constantFrom(...xs);

const DATA_MNIST: ParamSpace = {
  train_per_class: int(1, 50),
  test_per_class: int(1, 20),
  classes: fc.oneof(int(2, 10), pick('[zero, one]', '["0", "1", "2"]')),
};

const TRAIN: ParamSpace = {
  model: fc.oneof(
    fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 3 }).map((h) => `{ kind: mlp, hidden: [${h.join(', ')}] }`),
    fc
      .tuple(fc.array(fc.integer({ min: 1, max: 32 }), { minLength: 1, maxLength: 2 }), pick('relu', 'tanh'))
      .map(([h, a]) => `{ kind: mlp, hidden: [${h.join(', ')}], activation: ${a} }`),
    pick('mlp:784-8-10', 'mlp:784-16-16-10:tanh'),
  ),
  lr: pick('0.1', '0.05', '0.01', '1e-3'),
  momentum: pick('0', '0.5', '0.9'),
  weight_decay: pick('0', '5e-4', '1e-2'),
  batch_size: int(1, 256),
  schedule: pick('constant', 'step', 'cosine'),
  loss: pick('cross-entropy', 'mse'),
};

const SPECTRUM: ParamSpace = {
  operator: pick('hessian', 'ggn', 'residual'),
  split: pick('train', 'test'),
  checkpoint: pick('final'),
  lanczos_steps: int(2, 64),
  start_vectors: int(1, 4),
  log_spectrum: pick('true', 'false'),
  batch_size: int(1, 500),
  grid_size: int(16, 512),
  top_k: int(0, 6),
  top_k_tol: pick('1e-4', '1e-3'),
  trace: pick('true', 'false'),
  trace_matvecs: int(3, 30),
  workers: int(0, 2),
};

const DECOMPOSE: ParamSpace = {
  split: pick('train', 'test'),
  checkpoint: pick('final'),
  trace_matvecs: int(0, 30),
  b2_bottom_matvecs: int(0, 60),
  batch_size: int(1, 256),
  samples_per_class: int(1, 10),
};

const TSNE: ParamSpace = { perplexity: pick('5', '30'), iterations: int(1, 1000), include_own: pick('true', 'false') };
const UMAP: ParamSpace = { n_neighbors: int(2, 15), min_dist: pick('0', '0.1', '0.5'), epochs: int(1, 500) };
const REPORT: ParamSpace = { title: pick('"a report"', '"Spectra — MNIST"') };

/** Some of a kind's params with values, and maybe one more as a matrix axis of 1–3 values. */
function params(space: ParamSpace, matrixable: readonly string[]) {
  const names = Object.keys(space);
  return fc
    .tuple(
      fc.subarray(names),
      fc.option(
        fc
          .constantFrom(...matrixable)
          .chain((axis) => fc.uniqueArray(space[axis]!, { minLength: 1, maxLength: 3 }).map((vs) => [axis, vs] as const)),
        { freq: 2 },
      ),
    )
    .chain(([chosen, axis]) => {
      const plain = chosen.filter((n) => axis === null || n !== axis[0]);
      return fc
        .tuple(...plain.map((n) => space[n]!.map((v) => [n, v] as const)))
        .map((w) => ({ with: w as (readonly [string, string])[], matrix: axis === null ? [] : [axis] }));
    });
}

function stageOf(
  name: string,
  uses: string,
  p: { with: (readonly [string, string])[]; matrix: (readonly [string, readonly string[]])[] },
  needs: string[] = [],
  gather: string[] = [],
): StageDraft {
  return { name, uses, needs, gather, with: p.with, matrix: p.matrix };
}

/** A valid pipeline: data, one or two trainings, spectra, maybe a decomposition with embeddings, maybe a report. */
export const validStages: fc.Arbitrary<StageDraft[]> = fc
  .record({
    data: params(DATA_MNIST, ['train_per_class', 'classes']),
    trains: fc.array(fc.tuple(params(TRAIN, ['lr', 'batch_size', 'schedule']), fc.integer({ min: 0, max: 5 }), fc.boolean()), {
      minLength: 1,
      maxLength: 2,
    }),
    spectra: fc.array(params(SPECTRUM, ['operator', 'split', 'lanczos_steps']), { maxLength: 2 }),
    decompose: fc.option(params(DECOMPOSE, ['split', 'samples_per_class']), { freq: 3 }),
    pieces: fc.option(fc.tuple(pick('a1', 'a2', 'b1', 'b2', 'a1+a2+b1'), int(2, 20)), { freq: 3 }),
    tsne: fc.option(params(TSNE, ['iterations']), { freq: 3 }),
    umap: fc.option(params(UMAP, ['n_neighbors']), { freq: 3 }),
    report: fc.option(params(REPORT, ['title']), { freq: 2 }),
  })
  .map(({ data, trains, spectra, decompose, pieces, tsne, umap, report }) => {
    const stages: StageDraft[] = [stageOf('data', 'data/mnist', data)];
    trains.forEach(([p, epochs, withZero], i) => {
      // Checkpoints within the epochs trained (0 = before training); epochs itself is never a matrix axis.
      const checkpoints = [...new Set([...(withZero ? [0] : []), epochs])];
      const w = [...p.with, ['epochs', String(epochs)] as const, ['checkpoints', `[${checkpoints.join(', ')}]`] as const];
      if (!w.some(([k]) => k === 'model')) w.push(['model', '{ kind: mlp, hidden: [8] }']);
      stages.push(stageOf(i === 0 ? 'train' : `train${i + 1}`, 'train/sgd', { with: w, matrix: p.matrix }, ['data']));
    });
    spectra.forEach((p, i) => stages.push(stageOf(i === 0 ? 'spectra' : `spectra${i + 1}`, 'spectrum/slq', p, ['train'])));
    if (decompose !== null) {
      stages.push(stageOf('decompose', 'decompose/class-gradients', decompose, ['train']));
      if (pieces !== null)
        stages.push(
          stageOf('pieces', 'spectrum/slq', { with: [['lanczos_steps', pieces[1]]], matrix: [['operator', [pieces[0]]]] }, [
            'train',
            'decompose',
          ]),
        );
      if (tsne !== null) stages.push(stageOf('embed', 'embed/tsne', tsne, ['decompose']));
      if (umap !== null) stages.push(stageOf('umap', 'embed/umap', umap, ['decompose']));
    }
    if (report !== null)
      stages.push(
        stageOf(
          'report',
          'report/html',
          report,
          [],
          stages.map((s) => s.name).filter((n) => n !== 'data'),
        ),
      );
    return stages;
  });

/**
 * A pipeline small enough to run in a second or two: a few digits of 2–3 classes, a 784-k-C MLP
 * trained for at most one epoch, and maybe a spectrum of a few Lanczos steps.
 */
export const tinyRunnableStages: fc.Arbitrary<StageDraft[]> = fc
  .record({
    perClass: fc.integer({ min: 1, max: 3 }),
    classes: fc.integer({ min: 2, max: 3 }),
    hidden: fc.integer({ min: 2, max: 6 }),
    epochs: fc.integer({ min: 0, max: 1 }),
    train: params({ lr: TRAIN['lr']!, momentum: TRAIN['momentum']!, batch_size: int(1, 8), loss: TRAIN['loss']! }, [
      'lr',
      'batch_size',
    ]),
    spectrum: fc.option(
      params(
        {
          operator: SPECTRUM['operator']!,
          split: SPECTRUM['split']!,
          lanczos_steps: int(2, 5),
          start_vectors: int(1, 2),
          grid_size: int(16, 32),
          top_k: int(0, 2),
          trace: SPECTRUM['trace']!,
          trace_matvecs: int(3, 6),
          log_spectrum: SPECTRUM['log_spectrum']!,
        },
        ['operator', 'lanczos_steps'],
      ),
      { freq: 2 },
    ),
  })
  .map(({ perClass, classes, hidden, epochs, train, spectrum }) => {
    const stages: StageDraft[] = [
      stageOf('data', 'data/mnist', {
        with: [
          ['train_per_class', String(perClass)],
          ['test_per_class', String(perClass)],
          ['classes', String(classes)],
        ],
        matrix: [],
      }),
      stageOf(
        'train',
        'train/sgd',
        {
          with: [
            ...train.with,
            ['model', `{ kind: mlp, hidden: [${hidden}] }`],
            ['epochs', String(epochs)],
            ['checkpoints', `[${[...new Set([0, epochs])].join(', ')}]`],
          ],
          matrix: train.matrix,
        },
        ['data'],
      ),
    ];
    if (spectrum !== null) stages.push(stageOf('spectrum', 'spectrum/slq', spectrum, ['train']));
    return stages;
  });

/** The stages as a pipeline file (block style; `with:` in flow style when `flow`). */
export function renderPipeline(stages: readonly StageDraft[], seed: number, flow: boolean): string {
  const lines = ['name: fuzz-valid', `seed: ${seed}`, 'stages:'];
  const list = (xs: readonly string[]) => `[${xs.join(', ')}]`;
  for (const s of stages) {
    lines.push(`  ${s.name}:`, `    uses: ${s.uses}`);
    if (s.needs.length > 0) lines.push(`    needs: ${list(s.needs)}`);
    if (s.gather.length > 0) lines.push(`    gather: ${list(s.gather)}`);
    if (s.with.length > 0) {
      if (flow) lines.push(`    with: { ${s.with.map(([k, v]) => `${k}: ${v}`).join(', ')} }`);
      else lines.push('    with:', ...s.with.map(([k, v]) => `      ${k}: ${v}`));
    }
    if (s.matrix.length > 0) lines.push(`    matrix: { ${s.matrix.map(([k, vs]) => `${k}: ${list(vs)}`).join(', ')} }`);
  }
  return lines.join('\n') + '\n';
}

export const validPipeline: fc.Arbitrary<string> = fc
  .tuple(validStages, fc.nat({ max: 1000 }), fc.boolean())
  .map(([stages, seed, flow]) => renderPipeline(stages, seed, flow));

export const tinyRunnablePipeline: fc.Arbitrary<string> = fc
  .tuple(tinyRunnableStages, fc.nat({ max: 1000 }), fc.boolean())
  .map(([stages, seed, flow]) => renderPipeline(stages, seed, flow));

/** `--set` assignments that keep a valid pipeline valid (a param of a stage that is always there). */
export const validSets: fc.Arbitrary<string[]> = fc.array(
  fc.oneof(
    int(0, 99).map((v) => `seed=${v}`),
    int(1, 20).map((v) => `data.with.train_per_class=${v}`),
    pick('0.1', '0.01').map((v) => `train.with.lr=${v}`),
    pick('constant', 'cosine').map((v) => `train.with.schedule=${v}`),
  ),
  { maxLength: 2 },
);
