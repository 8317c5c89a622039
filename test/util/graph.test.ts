import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologicalOrder, upstreamClosure } from '../../src/util/graph.js';

/** A graph as data: node → the nodes it depends on. */
function graph(edges: Record<string, string[]>): { nodes: string[]; deps: (n: string) => string[] } {
  return { nodes: Object.keys(edges), deps: (n) => edges[n] ?? [] };
}

test('topologicalOrder: each node after its deps; an order that is already topological comes back unchanged', () => {
  const g = graph({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: [] });
  const r = topologicalOrder(g.nodes, g.deps);
  assert.ok(r.ok);
  assert.deepEqual(r.order, ['a', 'b', 'c', 'd', 'e']);
});

test('topologicalOrder is stable: file order where free, deps in the order written', () => {
  // c needs b: b moves before c, everything else keeps its place.
  const g = graph({ c: ['b'], a: [], b: [], d: ['e', 'a'], e: [] });
  const r = topologicalOrder(g.nodes, g.deps);
  assert.ok(r.ok);
  assert.deepEqual(r.order, ['b', 'c', 'a', 'e', 'd']);
  // The same graph listed in another order gives that order's answer, every time.
  const again = topologicalOrder(g.nodes, g.deps);
  assert.ok(again.ok);
  assert.deepEqual(again.order, r.order);
});

test('topologicalOrder returns the trail of the first cycle met, its first node repeated', () => {
  const g = graph({ a: ['c'], b: ['a'], c: ['b'], d: [] });
  const r = topologicalOrder(g.nodes, g.deps);
  assert.ok(!r.ok);
  assert.deepEqual(r.cycle, ['a', 'c', 'b', 'a']);
  const self = topologicalOrder(['x'], () => ['x']);
  assert.ok(!self.ok);
  assert.deepEqual(self.cycle, ['x', 'x']);
  // A cycle reached from a node outside it: the trail is the cycle only.
  const tail = graph({ s: ['p'], p: ['q'], q: ['p'] });
  const t = topologicalOrder(tail.nodes, tail.deps);
  assert.ok(!t.ok);
  assert.deepEqual(t.cycle, ['p', 'q', 'p']);
});

test('topologicalOrder: names of Object.prototype members are ordinary nodes', () => {
  const edges = new Map<string, string[]>([
    ['constructor', []],
    ['__proto__', ['constructor']],
    ['toString', ['__proto__', 'hasOwnProperty']],
    ['hasOwnProperty', []],
  ]);
  const r = topologicalOrder(edges.keys(), (n) => edges.get(n) ?? []);
  assert.ok(r.ok);
  assert.deepEqual(r.order, ['constructor', '__proto__', 'hasOwnProperty', 'toString']);
});

test('upstreamClosure: the starts and everything they depend on, nothing else', () => {
  const g = graph({ a: [], b: ['a'], c: ['b'], d: ['a'], e: ['d'] });
  assert.deepEqual([...upstreamClosure(['c'], g.deps)].sort(), ['a', 'b', 'c']);
  assert.deepEqual([...upstreamClosure(['e', 'b'], g.deps)].sort(), ['a', 'b', 'd', 'e']);
});

test('a 20,000-node chain: no recursion, each node expanded once, linear time', (t) => {
  const chain = (n: number) => {
    const nodes = Array.from({ length: n }, (_, i) => i);
    let calls = 0;
    // Listed last-first, so every node's dep is discovered depth-first (the deepest walk).
    const deps = (i: number): number[] => {
      calls++;
      return i === 0 ? [] : [i - 1];
    };
    const cpu0 = process.cpuUsage();
    const r = topologicalOrder([...nodes].reverse(), deps);
    const cpu = process.cpuUsage(cpu0);
    const ms = (cpu.user + cpu.system) / 1000; // CPU time: a loaded machine does not fail the bound
    assert.ok(r.ok);
    assert.deepEqual(r.order, nodes);
    assert.equal(calls, n, 'each node asks for its deps once');
    const closure = upstreamClosure([n - 1], deps);
    assert.equal(closure.size, n);
    return ms;
  };
  const small = chain(20_000);
  const large = chain(100_000);
  // Linear: 5× the nodes costs about 5× the time (quadratic would be 25×); bounds kept generous.
  assert.ok(large < 10_000, `100,000-node chain took ${large.toFixed(0)} ms of CPU`);
  t.diagnostic(`20,000-node chain: ${small.toFixed(1)} ms of CPU; 100,000: ${large.toFixed(1)} ms`);
});
