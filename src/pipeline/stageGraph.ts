import { topologicalOrder, type TopologicalOrder } from '../util/graph.js';
import type { PipelineSpec } from './spec.js';

/** What a stage reads: its `needs`, then its `gather` stages (the edges cycles and orders follow). */
export function stageUpstream(spec: PipelineSpec, stage: string): readonly string[] {
  const s = spec.stages[stage];
  return s === undefined ? [] : [...s.needs, ...s.gather];
}

/** Stages after everything they read: depth-first from each stage in file order, upstream in the order written. */
export function stageOrder(spec: PipelineSpec): TopologicalOrder<string> {
  return topologicalOrder(Object.keys(spec.stages), (n) => stageUpstream(spec, n));
}
