import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { SpecpipeError } from '../../util/errors.js';
import { PipelineError, didYouMean } from '../../pipeline/diagnostic.js';
import { preparePlan } from '../../pipeline/preparePlan.js';
import { compareIngredients, executionChanges, type IngredientComparison } from '../../pipeline/ingredientDiff.js';
import type { PlanNode } from '../../pipeline/plan.js';
import { ArtifactStore } from '../../store/artifactStore.js';
import { FingerprintCache } from '../../store/fileFingerprint.js';
import {
  defaultRunsDir,
  listRunIds,
  readRunRecord,
  runsOfPipeline,
  type RunRecord,
  type RunStageRecord,
} from '../../store/runRecord.js';

const USAGE = `usage: specpipe explain [FILE] STAGE… [--set …] [--store PATH] [--runs PATH] [--json]
  STAGE is a stage name (all its instances) or an instance name; without FILE, the pipeline of the last run is used.`;

export interface InstanceExplanation {
  readonly name: string;
  readonly key: string;
  /** What the next run would do with it. */
  readonly verdict: 'cached' | 'would execute';
  readonly store: string;
  /** The run whose record the ingredients are compared with. */
  readonly comparedWith: string | null;
  readonly ingredients: readonly IngredientComparison[];
  readonly reasons: readonly string[];
  /** The execution layout (the kind's `executionParams`), not in the key; absent for kinds without it. */
  readonly execution?: Readonly<Record<string, unknown>>;
  /** Execution params changed since that run, e.g. "workers: 1 → 2 (execution layout, not in the key)": they rerun nothing. */
  readonly executionChanges: readonly string[];
}

/** The newest run among `records` (newest first; the runs of the explained pipeline) that has this instance name. */
function lastRunOf(runsDir: string, name: string, records: RunRecord[]): { run: string; stage: RunStageRecord } | undefined {
  for (const r of records) {
    const s = r.stages.find((x) => x.name === name && x.status !== 'failed') ?? r.stages.find((x) => x.name === name);
    if (s !== undefined) return { run: r.run, stage: s };
  }
  void runsDir;
  return undefined;
}

export function explainNode(node: PlanNode, store: ArtifactStore, runsDir: string, records: RunRecord[]): InstanceExplanation {
  const prev = lastRunOf(runsDir, node.name, records);
  const comparisons = compareIngredients(node.ingredients, prev?.stage.ingredients);
  const v = store.verify(node.key);
  const reasons: string[] = [];
  if (!v.ok) {
    for (const c of comparisons)
      if (c.state === 'changed') reasons.push(`${c.ingredient} changed${c.detail.length > 0 ? `: ${c.detail.join('; ')}` : ''}`);
    if (prev === undefined) reasons.push('no earlier run of this instance');
    else if (prev.stage.key === node.key && prev.stage.status === 'failed')
      reasons.push(
        `not finished in run ${prev.run}${prev.stage.error !== undefined ? ` (${prev.stage.error.split('\n')[0]})` : ''}`,
      );
    else if (prev.stage.key === node.key)
      reasons.push(v.present ? `artifact invalid: ${v.reason}` : 'artifact no longer in the store (removed by gc or by hand)');
    else if (reasons.length === 0) reasons.push(`key changed (${v.reason})`);
  }
  return {
    name: node.name,
    key: node.key,
    verdict: v.ok ? 'cached' : 'would execute',
    store: v.ok ? 'valid artifact' : v.reason,
    comparedWith: prev?.run ?? null,
    ingredients: comparisons,
    reasons,
    ...(node.execution !== undefined && { execution: node.execution }),
    executionChanges: executionChanges(node.execution, prev?.stage.params),
  };
}

export function formatExplanation(e: InstanceExplanation): string {
  const layout = e.executionChanges.length > 0 ? ` (${e.executionChanges.join('; ')})` : '';
  const lines = [
    `${e.name}  ${e.key.slice(0, 12)}  ${e.verdict === 'cached' ? `cached${layout}` : `WOULD EXECUTE: ${e.reasons.join('; ')}`}`,
  ];
  lines.push(`  compared with run ${e.comparedWith ?? '(none)'}; store: ${e.store}`);
  for (const c of e.ingredients) {
    const state = c.state === 'changed' ? 'CHANGED' : c.state;
    lines.push(`  ${c.ingredient.padEnd(12)} ${state.padEnd(8)} ${c.value}`);
    for (const d of c.detail) lines.push(`  ${''.padEnd(12)} ${''.padEnd(8)}   ${d}`);
  }
  if (e.execution !== undefined) {
    const value = Object.entries(e.execution)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ');
    lines.push(
      `  ${'execution'.padEnd(12)} ${(e.comparedWith === null ? 'new' : e.executionChanges.length > 0 ? 'changed' : 'same').padEnd(8)} ${value} (not in the key)`,
    );
    for (const d of e.executionChanges) lines.push(`  ${''.padEnd(12)} ${''.padEnd(8)}   ${d}`);
  }
  return lines.join('\n');
}

/** `specpipe explain [FILE] STAGE…`: each key ingredient, and which changed since the last run. */
export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      set: { type: 'string', multiple: true },
      store: { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length === 0) throw new SpecpipeError('bad-args', USAGE, 2);
  const storePath = values.store ?? 'artifacts';
  const runsDir = values.runs ?? defaultRunsDir(storePath);
  const records = listRunIds(runsDir)
    .reverse()
    .map((id) => readRunRecord(runsDir, id));
  let file: string;
  let overrides = values.set ?? [];
  let targets: string[];
  if (positionals.length >= 2 || (positionals[0]!.match(/\.ya?ml$/) !== null && existsSync(positionals[0]!))) {
    file = positionals[0]!;
    targets = positionals.slice(1);
  } else {
    const last = records[0];
    if (last === undefined)
      throw new SpecpipeError(
        'no-runs',
        `explain ${positionals[0]}: no pipeline file given and no runs recorded in ${runsDir}\n${USAGE}`,
        2,
      );
    file = last.pipeline.file;
    if (values.set === undefined) overrides = [...last.pipeline.overrides];
    targets = positionals;
  }
  let prepared;
  try {
    prepared = await preparePlan(file, overrides, { fingerprints: FingerprintCache.forStore(storePath) });
  } catch (e) {
    if (e instanceof PipelineError) {
      process.stderr.write(e.message + '\n');
      return 1;
    }
    throw e;
  }
  const { plan } = prepared;
  const nodes =
    targets.length === 0 ? [...plan.nodes] : plan.nodes.filter((n) => targets.includes(n.stage) || targets.includes(n.name));
  for (const t of targets) {
    if (!plan.nodes.some((n) => n.stage === t || n.name === t)) {
      throw new SpecpipeError(
        'no-such-stage',
        `explain: no stage or instance "${t}" in ${file}${didYouMean(t, new Set(plan.nodes.map((n) => n.stage)))}`,
        2,
      );
    }
  }
  const store = new ArtifactStore(storePath);
  // Compared with the last run of this pipeline only: another pipeline's stage of the same name is another experiment.
  const ofPipeline = runsOfPipeline(records, plan.pipeline.name);
  const explanations = nodes.map((n) => explainNode(n, store, runsDir, ofPipeline));
  if (values.json === true) process.stdout.write(JSON.stringify(explanations, null, 2) + '\n');
  else process.stdout.write(explanations.map(formatExplanation).join('\n\n') + '\n');
  return 0;
}
