import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname as hostnameSync, tmpdir } from 'node:os';
import { join } from 'node:path';
import './fixtures/testStages.js';
import { canonicalJson } from '../../src/util/canonicalJson.js';
import { stageKey, STORE_SCHEMA_VERSION, type KeyIngredients } from '../../src/store/stageKey.js';
import { expandMatrix } from '../../src/pipeline/matrix.js';
import { loadPipeline } from '../../src/pipeline/loadPipeline.js';
import { buildPlan } from '../../src/pipeline/plan.js';
import { didYouMean, editDistance } from '../../src/pipeline/diagnostic.js';
import { ArtifactStore } from '../../src/store/artifactStore.js';
import { lockIsStale, tryLock } from '../../src/store/keyLock.js';
import { executeStageInstance } from '../../src/executor/executeStageInstance.js';

test('canonical JSON sorts keys at every depth and hashes key order away', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: -0 }], c: 'x' } }), '{"a":{"c":"x","d":[1,{"y":0,"z":0}]},"b":1}');
  const base: KeyIngredients = {
    kind: 'k/x',
    version: 1,
    params: { lr: 0.1, epochs: 3 },
    upstream: {},
    seed: 0,
    backend: 'none',
    numerics: {},
    storeSchema: STORE_SCHEMA_VERSION,
  };
  assert.equal(stageKey(base), stageKey({ ...base, params: { epochs: 3, lr: 0.1 } }));
  assert.notEqual(stageKey(base), stageKey({ ...base, version: 2 }));
  assert.notEqual(stageKey(base), stageKey({ ...base, backend: 'wasm' }));
  assert.match(stageKey(base), /^[0-9a-f]{64}$/);
});

test('matrix expansion follows GitHub Actions: product, exclude, include (extend or add)', () => {
  const cells = expandMatrix({
    axes: { os: ['linux', 'mac'], n: [1, 2] },
    exclude: [{ os: 'mac', n: 2 }],
    include: [
      { os: 'linux', extra: 'x' },
      { os: 'win', n: 9 },
    ],
  });
  assert.deepEqual(cells, [
    { os: 'linux', n: 1, extra: 'x' },
    { os: 'linux', n: 2, extra: 'x' },
    { os: 'mac', n: 1 },
    { os: 'win', n: 9 },
  ]);
  assert.deepEqual(expandMatrix(undefined), [{}]);
});

test('did-you-mean picks the nearest candidate within the edit-distance limit', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(didYouMean('need', ['needs', 'gather', 'uses']), '; did you mean "needs"?');
  assert.equal(didYouMean('zzzzzz', ['needs', 'gather']), '');
});

test('plan: instances inherit upstream cells, cross with their own matrix, gather sees all', () => {
  const src = `name: p
stages:
  a: { uses: test/const, matrix: { value: [1, 2] } }
  b: { uses: test/sum, needs: [a], matrix: { scale: [1, 3] } }
  c: { uses: test/sum, needs: [a, b] }
  r: { uses: test/sum, gather: [b] }
  s: { uses: test/sum, needs: [a], gather: [b] }
`;
  const plan = buildPlan(loadPipeline('p.yaml', { source: src }), { backendId: 'none' });
  assert.deepEqual(
    plan.nodes.map((n) => n.name),
    [
      'a[value=1]',
      'a[value=2]',
      'b[value=1,scale=1]',
      'b[value=1,scale=3]',
      'b[value=2,scale=1]',
      'b[value=2,scale=3]',
      'c[value=1,scale=1]',
      'c[value=1,scale=3]',
      'c[value=2,scale=1]',
      'c[value=2,scale=3]',
      'r',
      's[value=1]',
      's[value=2]',
    ],
  );
  const c = plan.nodes.find((n) => n.name === 'c[value=2,scale=3]')!;
  assert.deepEqual(
    c.needs.map((u) => u.name),
    ['a[value=2]', 'b[value=2,scale=3]'],
    'diamond: only compatible upstream pairs',
  );
  assert.equal(plan.nodes.find((n) => n.name === 'r')!.gather['b']!.length, 4);
  assert.deepEqual(
    plan.nodes.find((n) => n.name === 's[value=1]')!.gather['b']!.map((u) => u.name),
    ['b[value=1,scale=1]', 'b[value=1,scale=3]'],
  );
  const b = plan.nodes.find((n) => n.name === 'b[value=1,scale=3]')!;
  assert.deepEqual(b.params, { scale: 3, sleep_ms: 0, fail: false }, 'matrix cell merged into params, schema defaults filled');
  assert.equal(b.ingredients.upstream['a'], plan.nodes[0]!.key);
  assert.equal(JSON.parse(JSON.stringify(plan)).nodes.length, plan.nodes.length, 'the plan is plain JSON');
});

test('per-key lock: exclusive, stale when the owner pid is dead, released by its owner only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-lock-'));
  const held = tryLock(join(dir, 'k'), 'first')!;
  assert.ok(held !== undefined);
  assert.equal(tryLock(join(dir, 'k'), 'second'), undefined);
  held.release();
  const again = tryLock(join(dir, 'k'), 'third');
  assert.ok(again !== undefined);
  again.release();
  // A lock left by a dead process (pid 2^22 + 1 is above Linux's default pid_max of 2^22).
  mkdirSync(join(dir, 'dead'));
  writeFileSync(
    join(dir, 'dead', 'owner.json'),
    JSON.stringify({ pid: 4194305, host: hostnameSync(), token: 't', since: '', what: 'x' }),
  );
  assert.equal(lockIsStale(join(dir, 'dead'), 60_000), true);
  const taken = tryLock(join(dir, 'dead'), 'taker') ?? tryLock(join(dir, 'dead'), 'taker');
  assert.ok(taken !== undefined, 'a stale lock is broken and taken');
  taken.release();
});

test('executeStageInstance: executes, then reuses; a damaged artifact is recomputed, never used', async () => {
  const root = mkdtempSync(join(tmpdir(), 'specpipe-store-'));
  const plan = buildPlan(
    loadPipeline('p.yaml', { source: 'name: p\nstages:\n  a: { uses: test/const, with: { value: 3 } }\n' }),
    { backendId: 'none' },
  );
  const node = plan.nodes[0]!;
  const store = new ArtifactStore(root);
  const first = await executeStageInstance(JSON.parse(JSON.stringify(node)), root);
  assert.equal(first.status, 'executed');
  assert.equal((await executeStageInstance(node, store)).status, 'cached');
  writeFileSync(join(store.dir(node.key), 'values.arrow'), 'truncated');
  const v = store.verify(node.key);
  assert.equal(v.ok, false);
  assert.match(!v.ok ? v.reason : '', /^values\.arrow has 9 bytes, the manifest says \d+$/);
  const again = await executeStageInstance(node, store);
  assert.equal(again.status, 'executed');
  assert.match(again.note ?? '', /^recomputed: values\.arrow has 9 bytes/);
  assert.equal(store.verify(node.key, 'full').ok, true);
});

test('lazy stage kinds: named before their module loads, loaded when a pipeline uses them', async () => {
  const { registerLazyStageKind, loadStageKinds, getStageKind, stageKindNames } = await import('../../src/stages/registry.js');
  let loads = 0;
  registerLazyStageKind('test/lazy', async () => {
    loads++;
    return { ...getStageKind('test/const')!, kind: 'test/lazy' };
  });
  assert.ok(stageKindNames().includes('test/lazy'));
  assert.equal(getStageKind('test/lazy'), undefined);
  await loadStageKinds(['test/lazy', 'test/lazy', 'test/none']);
  assert.equal(getStageKind('test/lazy')?.kind, 'test/lazy');
  assert.equal(loads, 1);
});

test('gc: keeps what recent runs reference; --max-size evicts the oldest unreferenced first; --max-age spares the young', async () => {
  const { collectGarbage, parseSize, parseAge } = await import('../../src/cli/commands/gc.js');
  const { writeRunRecord } = await import('../../src/store/runRecord.js');
  const { utimesSync } = await import('node:fs');
  assert.equal(parseSize('2k'), 2048);
  assert.equal(parseSize('1.5M'), 1.5 * 1048576);
  assert.equal(parseAge('12h'), 12 * 3.6e6);
  assert.throws(() => parseSize('lots'), /--max-size expects a size like 500M or 2G, received "lots"/);

  const dir = mkdtempSync(join(tmpdir(), 'specpipe-gc-'));
  const root = join(dir, 'artifacts');
  const runs = join(dir, 'runs');
  const src = 'name: g\nstages:\n  a: { uses: test/const, matrix: { value: [1, 2, 3, 4] } }\n';
  const plan = buildPlan(loadPipeline('g.yaml', { source: src }), { backendId: 'none' });
  const store = new ArtifactStore(root);
  for (const n of plan.nodes) assert.equal((await executeStageInstance(n, store)).status, 'executed');
  // Ages: value=1 oldest … value=4 youngest (3, 2, 1, 0 days).
  plan.nodes.forEach((n, i) => {
    const t = new Date(Date.now() - (3 - i) * 86_400_000);
    utimesSync(store.dir(n.key), t, t);
  });
  const ref = plan.nodes[0]!;
  writeRunRecord(runs, {
    run: '20260101-000000-000-aaaaaa',
    pipeline: { name: 'g', file: 'g.yaml', sha256: '', overrides: [] },
    store: root,
    backend: 'none',
    executor: 'test',
    started: '',
    finished: '',
    seconds: 0,
    counts: { executed: 1, cached: 0, failed: 0 },
    stages: [
      {
        name: ref.name,
        stage: 'a',
        kind: ref.kind,
        key: ref.key,
        status: 'executed',
        seconds: 0,
        artifacts: store.dir(ref.key),
        matrix: ref.matrix,
        coords: ref.coords,
        params: ref.params,
        ingredients: ref.ingredients,
      },
    ],
  });
  const one = store.sizeOf(ref.key);
  const aged = collectGarbage(store, runs, { keepRuns: 1, maxAgeMs: 1.5 * 86_400_000 });
  assert.deepEqual(
    aged.removed.map((r) => r.instance),
    ['a[value=2]'],
    'only unreferenced artifacts older than 1.5 days',
  );
  const capped = collectGarbage(store, runs, { keepRuns: 1, maxBytes: 2 * one + 10 });
  assert.deepEqual(
    capped.removed.map((r) => r.instance),
    ['a[value=3]'],
    'oldest unreferenced first, until the cap holds',
  );
  assert.deepEqual(store.keys().sort(), [plan.nodes[0]!.key, plan.nodes[3]!.key].sort());
  const all = collectGarbage(store, runs, { keepRuns: 1 });
  assert.deepEqual(
    all.removed.map((r) => r.instance),
    ['a[value=4]'],
  );
  assert.deepEqual(store.keys(), [ref.key], 'the referenced artifact survives every rule');
});
