import { SpecpipeError } from '../util/errors.js';
import { upstreamClosure } from '../util/graph.js';
import { didYouMean } from '../pipeline/diagnostic.js';
import type { Plan, PlanNode } from '../pipeline/plan.js';

/** Names of the instances a node reads: its `needs` instances, then every `gather` instance. */
export function upstreamNames(node: PlanNode): string[] {
  return [...node.needs, ...Object.values(node.gather).flat()].map((u) => u.name);
}

/**
 * The instances a run with `--only S…` executes: the instances of each S (stage or instance name)
 * and every upstream instance they need (usually cached). No `--only`: the whole plan.
 */
export function selectNodes(plan: Plan, only: readonly string[]): PlanNode[] {
  if (only.length === 0) return [...plan.nodes];
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  const stages = new Set(plan.nodes.map((n) => n.stage));
  const starts: PlanNode[] = [];
  for (const s of only) {
    const hits = plan.nodes.filter((n) => n.stage === s || n.name === s);
    if (hits.length === 0) throw new SpecpipeError('bad-only', `--only ${s}: no such stage or instance${didYouMean(s, stages)}`);
    starts.push(...hits);
  }
  const keep = upstreamClosure(starts, (n) => upstreamNames(n).map((u) => byName.get(u)!));
  return plan.nodes.filter((n) => keep.has(n));
}
