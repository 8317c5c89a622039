import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempWorkspace } from '../pipeline/cliHarness.js';
import { newAjv } from '../../src/pipeline/ajvErrors.js';
import { loadSchema } from '../../src/util/schemaFiles.js';
import { parseModelSpec } from '../../src/nn/build.js';

/**
 * The model spec schema (schemas/model.schema.json), referenced by train/sgd's `model` param: `specpipe validate` names the
 * missing or mistyped field of the model's kind, at its position in the pipeline file.
 */
function pipelineWithModel(model: string): string {
  return [
    'name: model-check',
    'stages:',
    '  data:',
    '    uses: data/mnist',
    '    with: { train_per_class: 5, test_per_class: 5 }',
    '  train:',
    '    uses: train/sgd',
    '    needs: [data]',
    '    with:',
    `      model: ${model}`,
    '      epochs: 1',
    '',
  ].join('\n');
}

async function validate(model: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const dir = tempWorkspace('specpipe-model-schema-');
  writeFileSync(join(dir, 'p.yaml'), pipelineWithModel(model));
  return runCli(['validate', 'p.yaml'], { cwd: dir });
}

const cases: { name: string; model: string; stderr: string[] }[] = [
  {
    name: 'lenet without its required fields',
    model: '{ kind: lenet }',
    stderr: [
      'p.yaml:10:7: stages.train.with.model is missing the required key "channels"',
      'p.yaml:10:7: stages.train.with.model is missing the required key "hidden"',
    ],
  },
  {
    name: 'mlp with hidden of the wrong type',
    model: '{ kind: mlp, hidden: "x" }',
    stderr: ['p.yaml:10:35: stages.train.with.model.hidden must be an array, received "x"'],
  },
  {
    name: 'a field of another kind',
    model: '{ kind: mlp, hidden: [8], growth: 12 }',
    stderr: [
      'p.yaml:10:40: unknown key "growth" in stages.train.with.model (expected one of: kind, input, hidden, activation, classes)',
    ],
  },
  {
    name: 'an unknown kind',
    model: '{ kind: lenett, hidden: 3 }',
    stderr: [
      'p.yaml:10:22: stages.train.with.model.kind must be one of mlp|lenet|vgg11|resnet18|densenet40, received "lenett"; did you mean "lenet"?',
    ],
  },
  {
    name: 'an even lenet kernel and a too small input',
    model: '{ kind: lenet, channels: [4, 8], hidden: 16, kernel: 4, input: [1, 2, 2] }',
    stderr: [
      'p.yaml:10:81: stages.train.with.model.input[1] must be >= 4, received 2',
      'p.yaml:10:84: stages.train.with.model.input[2] must be >= 4, received 2',
      'p.yaml:10:67: stages.train.with.model.kernel must be odd, received 4',
    ],
  },
];

for (const c of cases) {
  test(`specpipe validate names the model field at its position: ${c.name}`, async () => {
    const r = await validate(c.model);
    assert.equal(r.code, 1, r.stdout);
    const located = r.stderr.split('\n').filter((l) => /^p\.yaml:\d+:\d+: /.test(l));
    assert.deepEqual(located, c.stderr, r.stderr);
  });
}

test('valid model specs of every kind, and the shorthand string, pass specpipe validate', async () => {
  for (const model of [
    'mlp:784-64-64-10:relu',
    '{ kind: mlp, hidden: [64, 64] }',
    '{ kind: mlp, hidden: [], activation: tanh, input: [784], classes: 10 }',
    '{ kind: lenet, channels: [6, 16], hidden: 120, kernel: 3 }',
    '{ kind: vgg11, width: 0.25, input: [1, 32, 32] }',
    '{ kind: resnet18, width: 0.125 }',
    '{ kind: densenet40, growth: 4 }',
  ]) {
    const r = await validate(model);
    assert.equal(r.code, 0, `${model}: ${r.stderr}`);
    assert.match(r.stdout, /p\.yaml: ok \(2 stages, 2 instances\)/);
  }
});

test('the model schema accepts every shorthand parseModelSpec turns into a full spec, and rejects what it rejects', () => {
  const validate = newAjv().getSchema(String(loadSchema('model.schema.json')['$id']))!;
  for (const text of [
    'mlp:784-64-64-10:relu',
    'mlp:784-10',
    'lenet:1x28x28:6-16-120:10:k3',
    'vgg11:3x32x32:0.5:10',
    'resnet18:3x32x32:1:100',
    'densenet40:3x32x32:12:10',
  ]) {
    assert.ok(validate(text), `${text} as a string`);
    const spec = parseModelSpec(text);
    assert.ok(validate(structuredClone(spec)), `${JSON.stringify(spec)}: ${JSON.stringify(validate.errors)}`);
  }
  for (const bad of [
    { kind: 'lenet', channels: [6, 16], hidden: 120, kernel: 4 },
    { kind: 'vgg11', input: [1, 28, 28] },
    { kind: 'mlp', hidden: [0] },
    { kind: 'resnet18', width: 0 },
    { kind: 'densenet40', growth: 1.5 },
    { kind: 'mlp', hidden: [8], input: [1, 2, 3, 4] },
    '',
    3,
  ])
    assert.equal(validate(bad), false, JSON.stringify(bad));
});

test('a model spec given by a matrix axis is checked too, the error pointing at the matrix value', async () => {
  const dir = tempWorkspace('specpipe-model-schema-');
  writeFileSync(
    join(dir, 'p.yaml'),
    [
      'name: model-matrix',
      'stages:',
      '  data:',
      '    uses: data/mnist',
      '  train:',
      '    uses: train/sgd',
      '    needs: [data]',
      '    matrix:',
      '      model: [{ kind: mlp, hidden: [8] }, { kind: vgg11, depth: 3 }]',
      '',
    ].join('\n'),
  );
  const r = await runCli(['validate', 'p.yaml'], { cwd: dir });
  assert.equal(r.code, 1, r.stdout);
  assert.deepEqual(
    r.stderr.split('\n').filter((l) => /^p\.yaml:\d+:\d+: /.test(l)),
    [
      'p.yaml:9:43: unknown key "depth" in stages.train.matrix.model[1] (matrix value for stages.train.with.model) (expected one of: kind, input, width, classes)',
    ],
    r.stderr,
  );
});
