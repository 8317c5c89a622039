/** The executors' uses of util/graph: job order, `--only` selection, on small graphs and a 20,000-instance chain. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../pipeline/fixtures/testStages.js';
import { topologicalJobOrder, type DistributedJob } from '../../src/executor/bullmq/jobGraph.js';
import { selectNodes } from '../../src/executor/selectNodes.js';
import { loadPipeline } from '../../src/pipeline/loadPipeline.js';
import { buildPlan } from '../../src/pipeline/plan.js';

const job = (id: string, deps: string[]): DistributedJob => ({ id, name: id, deps, kind: 'test', payload: null });

test("topologicalJobOrder keeps an order that is already topological (a plan's), and moves deps first otherwise", () => {
  const jobs = [job('a', []), job('b', ['a']), job('c', []), job('d', ['b', 'c'])];
  assert.deepEqual(
    topologicalJobOrder(jobs).map((j) => j.id),
    ['a', 'b', 'c', 'd'],
  );
  const shuffled = [job('d', ['b', 'c']), job('c', []), job('b', ['a']), job('a', [])];
  assert.deepEqual(
    topologicalJobOrder(shuffled).map((j) => j.id),
    ['a', 'b', 'c', 'd'],
  );
});

test('a job graph cycle names only the jobs on the cycle, in input order', () => {
  const jobs = [job('x', ['b']), job('a', ['c']), job('b', ['a']), job('c', ['b'])];
  assert.throws(() => topologicalJobOrder(jobs), { message: 'the job graph has a cycle through: a, b, c' });
});

test('--only on the last of a 20,000-instance chain selects the whole chain (no recursion)', () => {
  const lines = ['name: chain', 'stages:', '  s0: { uses: test/const, with: { value: 1 } }'];
  for (let i = 1; i < 20_000; i++) lines.push(`  s${i}: { uses: test/sum, needs: [s${i - 1}] }`);
  const plan = buildPlan(loadPipeline('chain.yaml', { source: lines.join('\n') }), { backendId: 'none' });
  const only = selectNodes(plan, ['s19999']);
  assert.equal(only.length, 20_000);
  assert.deepEqual(
    selectNodes(plan, ['s2']).map((n) => n.name),
    ['s0', 's1', 's2'],
  );
  const jobs = plan.nodes.map((n) =>
    job(
      n.key,
      n.needs.map((u) => u.key),
    ),
  );
  const order = topologicalJobOrder(jobs);
  assert.deepEqual(
    order.map((j) => j.id),
    jobs.map((j) => j.id),
    'plan order kept',
  );
});
