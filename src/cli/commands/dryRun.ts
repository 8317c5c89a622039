import type { Plan } from '../../pipeline/plan.js';
import { selectNodes } from '../../executor/selectNodes.js';
import { ArtifactStore } from '../../store/artifactStore.js';
import { listRunIds, readRunRecord, runsOfPipeline } from '../../store/runRecord.js';
import { explainNode } from './explain.js';

/** What `run --dry-run` says of one instance. */
export interface DryRunInstance {
  readonly name: string;
  readonly key: string;
  readonly verdict: 'cached' | 'would execute';
  /** Why it would execute: forced, the ingredients changed since the last run of the pipeline, no earlier run, artifact gone. */
  readonly reasons: readonly string[];
}

export interface DryRun {
  readonly pipeline: string;
  readonly file: string;
  /** The last run of this pipeline, which the ingredients are compared with (null: none recorded). */
  readonly comparedWith: string | null;
  readonly instances: readonly DryRunInstance[];
}

/**
 * `specpipe run --dry-run`: the instances the run would reach (`--only`), each cached or to execute and
 * why, compared with the last run of the same pipeline. Reads the store and the run records, writes nothing.
 */
export function dryRun(
  plan: Plan,
  storePath: string,
  runsDir: string,
  options: { readonly only: readonly string[]; readonly force: readonly string[] },
): DryRun {
  const store = new ArtifactStore(storePath);
  const records = runsOfPipeline(
    listRunIds(runsDir)
      .reverse()
      .map((id) => readRunRecord(runsDir, id)),
    plan.pipeline.name,
  );
  const instances = selectNodes(plan, options.only).map((node): DryRunInstance => {
    const e = explainNode(node, store, runsDir, records);
    const forcedBy = options.force.find((f) => f === 'all' || f === node.stage || f === node.name);
    if (forcedBy !== undefined)
      return {
        name: node.name,
        key: node.key,
        verdict: 'would execute',
        reasons: [`forced (--force ${forcedBy})`, ...e.reasons],
      };
    return { name: node.name, key: node.key, verdict: e.verdict, reasons: e.reasons };
  });
  return { pipeline: plan.pipeline.name, file: plan.pipeline.file, comparedWith: records[0]?.run ?? null, instances };
}

export function formatDryRun(d: DryRun): string {
  const width = Math.max(...d.instances.map((i) => i.name.length), 8);
  const lines = [
    `dry run of ${d.file} (pipeline ${d.pipeline}), compared with ${d.comparedWith === null ? 'no earlier run of this pipeline' : `its last run ${d.comparedWith}`}:`,
  ];
  for (const i of d.instances)
    lines.push(
      `  ${i.name.padEnd(width)}  ${i.key.slice(0, 12)}  ${i.verdict === 'cached' ? 'cached' : `WOULD EXECUTE: ${i.reasons.join('; ')}`}`,
    );
  const executing = d.instances.filter((i) => i.verdict === 'would execute').length;
  lines.push(
    `${executing} would execute, ${d.instances.length - executing} cached; nothing was executed and no run record was written`,
  );
  return lines.join('\n');
}
