/**
 * runTable on run records as `specpipe run` writes them (here built by hand): which param columns
 * appear (only those that differ; a stage's instances collapsed when they agree), which metric each
 * key-metric column takes (λ_max: lambda_1, else SLQ's top_eigenvalue; trace: Hutch++, else SLQ),
 * absent cells, CSV quoting and the block layout at a width.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRunTable, runTable, runTableCsv, runTableJson } from '../../src/pipeline/runTable.js';
import type { RunRecord, RunStageRecord } from '../../src/store/runRecord.js';

function stage(
  name: string,
  stageName: string,
  params: Record<string, unknown>,
  metrics: Record<string, number>,
): RunStageRecord {
  return {
    name,
    stage: stageName,
    kind: 'k',
    key: '0'.repeat(64),
    status: 'executed',
    seconds: 1,
    artifacts: '/x',
    matrix: {},
    coords: {},
    params,
    ingredients: { kind: 'k', version: 1, params, upstream: {}, seed: 0, backend: 'cpu', numerics: {}, storeSchema: 1 },
    metrics,
  };
}

function record(run: string, stages: RunStageRecord[], failed = 0): RunRecord {
  return {
    run,
    pipeline: { name: 'p', file: 'p.yaml', sha256: '', overrides: [] },
    store: '/s',
    backend: 'cpu',
    executor: 'local',
    started: '',
    finished: '',
    seconds: 1,
    counts: { executed: stages.length, cached: 0, failed },
    stages,
  };
}

const r1 = record('r1', [
  stage('train', 'train', { epochs: 1, lr: 0.1 }, { test_acc: 0.5 }),
  stage(
    'spec[op=hess]',
    'spec',
    { op: 'hess', steps: 8 },
    { lambda_1: 12.5, top_eigenvalue: 12.4, outliers_converged: 3, trace: 70 },
  ),
  stage('spec[op=ggn]', 'spec', { op: 'ggn', steps: 8 }, { top_eigenvalue: 9, trace: 50, trace_hutchpp: 51.5 }),
]);
const r2 = record(
  'r2',
  [
    stage('train', 'train', { epochs: 2, lr: 0.1 }, { test_acc: 0.75 }),
    stage('spec[op=hess]', 'spec', { op: 'hess', steps: 16 }, { lambda_1: 13, outliers_converged: 4, trace: 71 }),
  ],
  1,
);

test('runTable: differing params only, instances collapsed per stage, key metrics with their fallbacks, absent cells', () => {
  const t = runTable([r1, r2]);
  assert.deepEqual(
    t.columns.map((c) => c.name),
    [
      'run',
      'pipeline',
      'status',
      'train.epochs',
      'spec.steps',
      'train test_acc',
      'spec[op=hess] λ_max',
      'spec[op=hess] top-k conv.',
      'spec[op=hess] trace',
      'spec[op=ggn] λ_max',
      'spec[op=ggn] trace',
    ],
  );
  assert.deepEqual(t.rows, [
    ['r1', 'p', 'ok', '1', '8', 0.5, 12.5, 3, 70, 9, 51.5],
    ['r2', 'p', 'failed (1)', '2', '16', 0.75, 13, 4, 71, null, null],
  ]);
  assert.equal(
    runTableCsv(runTable([r1, r2], { metrics: ['trace'] })),
    [
      'run,pipeline,status,train.epochs,spec.steps,spec[op=hess] trace,spec[op=ggn] trace',
      'r1,p,ok,1,8,70,50',
      'r2,p,failed (1),2,16,71,',
    ].join('\n'),
  );
  assert.deepEqual(runTableJson(runTable([r1, r2], { metrics: ['test_acc'] })), [
    { run: 'r1', pipeline: 'p', status: 'ok', 'train.epochs': '1', 'spec.steps': '8', 'train test_acc': 0.5 },
    { run: 'r2', pipeline: 'p', status: 'failed (1)', 'train.epochs': '2', 'spec.steps': '16', 'train test_acc': 0.75 },
  ]);
});

test('formatRunTable: columns that do not fit the width continue in blocks repeating the run column', () => {
  const text = formatRunTable(runTable([r1, r2]), 60);
  assert.equal(
    text,
    [
      'run  pipeline  status      train.epochs  spec.steps',
      'r1   p         ok          1             8',
      'r2   p         failed (1)  2             16',
      '',
      'run  train test_acc  spec[op=hess] λ_max',
      'r1              0.5                 12.5',
      'r2             0.75                   13',
      '',
      'run  spec[op=hess] top-k conv.  spec[op=hess] trace',
      'r1                           3                   70',
      'r2                           4                   71',
      '',
      'run  spec[op=ggn] λ_max  spec[op=ggn] trace',
      'r1                    9                51.5',
      'r2                    —                   —',
    ].join('\n'),
  );
});
