/**
 * What the report must never mix: rows of one quantity whose names differ across seeds only by a
 * product count or a fitted range group into one mean ± sd (n); items of two different nets of one run
 * (the default pipeline's `train` and its validated `small_train`) never group together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupSeeds, seedCaption, seedInvariantName } from '../../src/report/seedGroups.js';
import { logSpectrumSpec } from '../../src/report/reportSpecs.js';
import { syntheticReportData } from './syntheticReportData.js';
import { fragmentsOf, withAxesInName, type ArtifactView } from '../../src/report/collectReportData.js';
import { REPORT_FRAGMENT_FILE } from '../../src/report/reportFragment.js';
import type { Manifest } from '../../src/store/manifest.js';
import { tempWorkspace } from '../pipeline/cliHarness.js';

test('rows that differ across seeds only by their product count or fitted range group into one mean ± sd', () => {
  assert.equal(seedInvariantName('λ_min(B2) (Lanczos, 39 products) [mnist, epoch 0]'), 'λ_min(B2) (Lanczos) [mnist, epoch 0]');
  assert.equal(seedInvariantName('α of H over 7.8e-5 ≤ |λ| ≤ 0.0010 [train]'), 'α of H over the resolved bulk [train]');
  const rows = [
    { claim: 'f', name: 'λ_min(B2) (Lanczos, 39 products) [x]', value: 1, seed: 0 },
    { claim: 'f', name: 'λ_min(B2) (Lanczos, 33 products) [x]', value: 3, seed: 1 },
    { claim: 'f', name: 'λ_min(B2) (Lanczos, 41 products) [y]', value: 5, seed: 0 },
  ];
  const out = groupSeeds({ title: 't', numbers: rows }).numbers!;
  assert.equal(out.length, 2, 'x over two seeds, y alone');
  const x = out.find((r) => r.name === 'λ_min(B2) (Lanczos) [x]')!;
  assert.equal(x.value, 2);
  assert.deepEqual(x.spread, { n: 2, sd: Math.SQRT2 });
  assert.match(
    x.note ?? '',
    /seed 0: λ_min\(B2\) \(Lanczos, 39 products\) \[x\]; seed 1: λ_min\(B2\) \(Lanczos, 33 products\) \[x\]/,
  );
});

test('items of two training stages of one run carry their stage in the model name and their numbers are prefixed', () => {
  const ws = tempWorkspace('specpipe-nets-');
  const view = (name: string, kind: string, key: string, upstream: Record<string, string>, fragment?: object): ArtifactView => {
    const dir = join(ws, key);
    mkdirSync(dir, { recursive: true });
    if (fragment !== undefined) writeFileSync(join(dir, REPORT_FRAGMENT_FILE), JSON.stringify(fragment));
    const manifest = { key, stage: name, kind, upstream, seed: 0, files: [] } as unknown as Manifest;
    return { name, kind, dir, coords: {}, params: {}, manifest };
  };
  const spectrum = (v: number) => ({
    spectra: [{ dataset: 'mnist', model: 'mlp', operator: 'hessian', split: 'train', grid: [0, 1], density: [v, v] }],
    numbers: [{ claim: 'a', name: 'λ_max [mnist, mlp]', value: v }],
  });
  const views = [
    view('train', 'train/sgd', 'a'.repeat(64), {}),
    view('small_train', 'train/sgd', 'b'.repeat(64), {}),
    view('spectra', 'spectrum/slq', 'c'.repeat(64), { train: 'a'.repeat(64) }, spectrum(1)),
    view('small_spectra', 'spectrum/slq', 'd'.repeat(64), { small_train: 'b'.repeat(64) }, spectrum(2)),
  ];
  const frags = fragmentsOf(views);
  assert.deepEqual(
    frags.flatMap((f) => (f.spectra ?? []).map((s) => s.model)),
    ['mlp (stage train)', 'mlp (stage small_train)'],
  );
  assert.deepEqual(
    frags.flatMap((f) => (f.numbers ?? []).map((n) => n.name)),
    ['train: λ_max [mnist, mlp]', 'small_train: λ_max [mnist, mlp]'],
  );
  // one training stage: nothing renamed
  const one = fragmentsOf([views[0]!, views[2]!]);
  assert.deepEqual(
    one.flatMap((f) => (f.spectra ?? []).map((s) => s.model)),
    ['mlp'],
  );
});

test("numbers of cells of a matrix axis the stage does not name (the data stage's classes) keep apart, never averaged as seeds", () => {
  const ws = tempWorkspace('specpipe-axes-');
  const view = (key: string, coords: Record<string, unknown>, seed: number, value: number): ArtifactView => {
    const dir = join(ws, key);
    mkdirSync(dir, { recursive: true });
    const fragment = { numbers: [{ claim: 'a', name: 'λ_max [fashion-mnist, mlp, epoch 2, 300/class, train]', value }] };
    writeFileSync(join(dir, REPORT_FRAGMENT_FILE), JSON.stringify(fragment));
    const manifest = { key, stage: 'spectra', kind: 'spectrum/slq', upstream: {}, seed, files: [] } as unknown as Manifest;
    return { name: 'spectra', kind: 'spectrum/slq', dir, coords, params: {}, manifest };
  };
  const views = [
    view('a'.repeat(64), { classes: 2, seed: 0, train_per_class: 300, operator: 'hessian' }, 0, 1),
    view('b'.repeat(64), { classes: 2, seed: 1, train_per_class: 300, operator: 'hessian' }, 1, 3),
    view('c'.repeat(64), { classes: 3, seed: 0, train_per_class: 300, operator: 'hessian' }, 0, 10),
  ];
  const rows = fragmentsOf(views).flatMap((f) => f.numbers ?? []);
  assert.deepEqual(
    rows.map((r) => r.name),
    [
      'λ_max [fashion-mnist, mlp, epoch 2, 300/class, train, classes=2]',
      'λ_max [fashion-mnist, mlp, epoch 2, 300/class, train, classes=2]',
      'λ_max [fashion-mnist, mlp, epoch 2, 300/class, train, classes=3]',
    ],
    'classes added; train_per_class already said by "300/class"; operator and seed never',
  );
  const grouped = groupSeeds({ title: 't', numbers: fragmentsOf(views).flatMap((f) => f.numbers ?? []) }).numbers!;
  assert.deepEqual(
    grouped.map((r) => [r.name, r.value, r.spread?.n ?? 1]),
    [
      ['λ_max [fashion-mnist, mlp, epoch 2, 300/class, train, classes=2]', 2, 2],
      ['λ_max [fashion-mnist, mlp, epoch 2, 300/class, train, classes=3]', 10, 1],
    ],
  );
  assert.equal(withAxesInName('tr G', { lr: 0.1 }), 'tr G [lr=0.1]');
});

test("H's log-spectrum panel says when its fit is of the mean density over seeds (the table fits each seed)", () => {
  const h = syntheticReportData().spectra!.find((s) => s.operator === 'residual' && s.split === 'train')!;
  const subtitle = (spec: object): string => JSON.stringify(spec);
  assert.doesNotMatch(subtitle(logSpectrumSpec(h, 'one seed')), /fitted to the mean density/);
  const mean = { ...h, seedBand: { n: 3, lo: h.density, hi: h.density } };
  assert.match(subtitle(logSpectrumSpec(mean, 'three seeds')), /fitted to the mean density of 3 seeds/);
  assert.match(seedCaption('log-spectrum-h', 3), /fitted to that mean density — a different estimator from the table of numbers/);
});
