import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schemaDefaults } from '../../src/util/schemaFiles.js';
import { newAjv } from '../../src/pipeline/ajvErrors.js';
import { loadSchema } from '../../src/util/schemaFiles.js';
import { TRAIN_DEFAULTS, trainCommand } from '../../src/cli/commands/train.js';
import { SPECTRUM_DEFAULTS, spectrumCommand } from '../../src/cli/commands/spectrum.js';
import { DEFAULT_ASYMMETRY_TOLERANCE } from '../../src/linalg/operatorAlgebra.js';
import { captureOutput } from '../train/cliCapture.js';

test('schemaDefaults: the defaults of a kind’s params by name, as ajv fills them in', () => {
  assert.deepEqual(schemaDefaults('stages/embed-umap.schema.json'), { min_dist: 0.1, epochs: 500, include_own: false });
  assert.deepEqual(schemaDefaults('stages/report-html.schema.json'), {});
  const slq = schemaDefaults('stages/spectrum-slq.schema.json', ['lanczos_steps', 'start_vectors', 'grid_size']);
  assert.equal(slq.lanczos_steps, 64);
  assert.equal(slq.start_vectors, 4);
  assert.equal(slq.grid_size, 512);
  assert.equal(schemaDefaults('pipeline.schema.json', ['seed']).seed, 0);
  // exactly what useDefaults fills into an empty `with:`
  for (const kind of ['spectrum-slq', 'decompose-class-gradients', 'embed-tsne', 'data-mnist']) {
    const file = `stages/${kind}.schema.json`;
    const params: Record<string, unknown> = {};
    newAjv().compile(loadSchema(file))(params);
    assert.deepEqual(schemaDefaults(file), params, kind);
  }
  // a copy: callers cannot change the schema's defaults
  (schemaDefaults('stages/train-sgd.schema.json') as Record<string, unknown>)['epochs'] = 99;
  assert.equal(schemaDefaults('stages/train-sgd.schema.json')['epochs'], 10);
  assert.throws(
    () => schemaDefaults('stages/train-sgd.schema.json', ['epochs', 'model']),
    /schemas\/stages\/train-sgd\.schema\.json: param "model" has no default \(params with defaults: epochs, lr, /,
  );
});

test('specpipe train takes its defaults from the train/sgd schema and shows them in --help', async () => {
  const sgd = schemaDefaults('stages/train-sgd.schema.json');
  assert.deepEqual(
    {
      epochs: TRAIN_DEFAULTS.epochs,
      lr: TRAIN_DEFAULTS.lr,
      momentum: TRAIN_DEFAULTS.momentum,
      weight_decay: TRAIN_DEFAULTS.weightDecay,
      batch_size: TRAIN_DEFAULTS.batchSize,
      schedule: TRAIN_DEFAULTS.schedule,
      loss: TRAIN_DEFAULTS.loss,
      pad: TRAIN_DEFAULTS.pad,
    },
    sgd,
  );
  assert.equal(TRAIN_DEFAULTS.batchSize, 128, 'was 32 in the CLI');
  assert.equal(TRAIN_DEFAULTS.schedule, 'constant', 'was cosine in the CLI');
  const { out } = await captureOutput((w) => trainCommand(['--help'], w));
  assert.match(out, /--batch-size B +\(default 128\)/);
  assert.match(out, /--schedule S +constant\|step\|cosine \(default constant\)/);
  assert.match(out, /--weight-decay λ +\(default 0\.0005\)/);
  assert.match(out, /--loss L +cross-entropy\|mse \(default cross-entropy\)/);
});

test('specpipe spectrum takes its defaults from the spectrum/slq schema and shows them in --help', async () => {
  const slq = schemaDefaults('stages/spectrum-slq.schema.json');
  for (const k of ['lanczos_steps', 'start_vectors', 'grid_size', 'trace_matvecs', 'batch_size', 'split', 'operator'] as const)
    assert.equal(SPECTRUM_DEFAULTS[k], slq[k], k);
  assert.equal(SPECTRUM_DEFAULTS.symmetryTolerance, DEFAULT_ASYMMETRY_TOLERANCE);
  assert.equal(DEFAULT_ASYMMETRY_TOLERANCE, 1e-8);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    typeof chunk === 'string' ? ((out += chunk), true) : write(chunk, ...(rest as []))) as typeof process.stdout.write;
  try {
    assert.equal(await spectrumCommand(['--help']), 0);
  } finally {
    process.stdout.write = write;
  }
  assert.match(out, /--lanczos-steps M +Lanczos steps per start vector \(default 64\)/);
  assert.match(out, /--start-vectors N +random start vectors for SLQ \/ KPM \(default 4\)/);
  assert.match(out, /--grid G +grid points of the densities \(default 512\)/);
  assert.match(out, /--trace-matvecs B +products for --trace \(default 30\)/);
  assert.match(out, /--batch-size \(default 500\)/);
  assert.match(out, /--symmetry-tol T .*\(default 1e-8\)/);
});
