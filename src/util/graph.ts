/**
 * Directed graphs given as a node list and a function from a node to the nodes it depends on
 * (its upstream: `needs` and `gather` of a stage, the deps of a job). Every walk here is
 * iterative (a 20,000-stage chain must not overflow the call stack) and linear in nodes + edges.
 */

/** The nodes a node depends on, in the order written. */
export type DepsOf<N> = (node: N) => readonly N[];

/** A topological order, or the first cycle met. */
export type TopologicalOrder<N> =
  | { readonly ok: true; readonly order: readonly N[] }
  /**
   * `cycle` is the trail of the cycle, its first node repeated at the end: `[a, c, b, a]` when a
   * depends on c, c on b and b on a (each node depends on the next).
   */
  | { readonly ok: false; readonly cycle: readonly N[] };

const VISITING = 1;
const DONE = 2;

/**
 * Depth-first, post-order topological order: each node comes after everything it depends on.
 * Stable: nodes are taken in `nodes` order and deps in the order `depsOf` lists them, so where
 * the input order is already topological the output is the input, unchanged. Deps missing from
 * `nodes` are visited too (and placed before their dependents). Stops at the first cycle met in that
 * same order, and returns its trail. O(nodes + edges).
 */
export function topologicalOrder<N>(nodes: Iterable<N>, depsOf: DepsOf<N>): TopologicalOrder<N> {
  const state = new Map<N, number>();
  const order: N[] = [];
  // The current depth-first path: nodes, and how many of each node's deps have been taken.
  const path: N[] = [];
  const next: number[] = [];
  const deps: (readonly N[])[] = [];
  const onPath = new Map<N, number>();
  for (const root of nodes) {
    if (state.has(root)) continue;
    const enter = (n: N): void => {
      state.set(n, VISITING);
      onPath.set(n, path.length);
      path.push(n);
      next.push(0);
      deps.push(depsOf(n));
    };
    enter(root);
    while (path.length > 0) {
      const top = path.length - 1;
      const list = deps[top]!;
      const i = next[top]!;
      if (i < list.length) {
        next[top] = i + 1;
        const d = list[i]!;
        const s = state.get(d);
        if (s === undefined) enter(d);
        else if (s === VISITING) return { ok: false, cycle: [...path.slice(onPath.get(d)!), d] };
        continue;
      }
      const n = path.pop()!;
      next.pop();
      deps.pop();
      onPath.delete(n);
      state.set(n, DONE);
      order.push(n);
    }
  }
  return { ok: true, order };
}

/** `starts` and everything they depend on, directly or not. O(nodes + edges) of the part reached. */
export function upstreamClosure<N>(starts: Iterable<N>, depsOf: DepsOf<N>): Set<N> {
  const seen = new Set<N>();
  const todo: N[] = [];
  for (const s of starts) {
    if (seen.has(s)) continue;
    seen.add(s);
    todo.push(s);
  }
  while (todo.length > 0) {
    for (const d of depsOf(todo.pop()!)) {
      if (seen.has(d)) continue;
      seen.add(d);
      todo.push(d);
    }
  }
  return seen;
}
