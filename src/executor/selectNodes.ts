import { SpecpipeError } from '../util/errors.js';
import { didYouMean } from '../pipeline/diagnostic.js';
import type { Plan, PlanNode } from '../pipeline/plan.js';

/**
 * The instances a run with `--only S…` executes: the instances of each S (stage or instance name)
 * and every upstream instance they need (usually cached). No `--only`: the whole plan.
 */
export function selectNodes(plan: Plan, only: readonly string[]): PlanNode[] {
  if (only.length === 0) return [...plan.nodes];
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  const stages = new Set(plan.nodes.map((n) => n.stage));
  const keep = new Set<string>();
  const add = (n: PlanNode): void => {
    if (keep.has(n.name)) return;
    keep.add(n.name);
    for (const u of [...n.needs, ...Object.values(n.gather).flat()]) add(byName.get(u.name)!);
  };
  for (const s of only) {
    const hits = plan.nodes.filter((n) => n.stage === s || n.name === s);
    if (hits.length === 0) throw new SpecpipeError('bad-only', `--only ${s}: no such stage or instance${didYouMean(s, stages)}`);
    hits.forEach(add);
  }
  return plan.nodes.filter((n) => keep.has(n.name));
}
