import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import { ArtifactStore } from '../../store/artifactStore.js';
import type { Manifest } from '../../store/manifest.js';
import { numberText } from '../../util/finite.js';
import { collectedMessage, collectedStages } from '../../store/collectedArtifacts.js';
import { defaultRunsDir, listRunIds, readRunRecord, resolveRunId, type RunRecord } from '../../store/runRecord.js';

const fixed2 = (v: unknown): string => numberText(v, (x) => x.toFixed(2));

/** Metrics as `name=value`; a NaN metric comes back from JSON as null and prints as "non-finite". */
function formatMetrics(m: Readonly<Record<string, number | null>> | undefined): string {
  if (m === undefined || m === null) return '';
  return Object.entries(m)
    .map(([k, v]) => `${k}=${numberText(v, (x) => (Number.isInteger(x) ? String(x) : x.toPrecision(5)))}`)
    .join(' ');
}

function formatRun(r: RunRecord): string {
  const lines = [
    `run ${r.run}  pipeline ${r.pipeline.name} (${r.pipeline.file}${r.pipeline.overrides.length > 0 ? ` ${r.pipeline.overrides.map((o) => `--set ${o}`).join(' ')}` : ''})`,
    `started ${r.started}, ${fixed2(r.seconds)} s; ${r.counts.executed} executed, ${r.counts.cached} cached, ${r.counts.failed} failed; backend ${r.backend}; ${r.executor}`,
    `store ${r.store}`,
    '',
  ];
  const width = Math.max(8, ...r.stages.map((s) => s.name.length));
  for (const s of r.stages) {
    lines.push(
      `${s.name.padEnd(width)}  ${s.status.padEnd(8)} ${fixed2(s.seconds).padStart(7)} s  ${s.key.slice(0, 12)}  ${formatMetrics(s.metrics)}${s.error !== undefined ? `  error: ${s.error.split('\n')[0]}` : ''}`,
    );
  }
  return lines.join('\n');
}

function formatManifest(m: Manifest, dir: string): string {
  const lines = [
    `${m.instance}  (${m.kind} v${m.version})  key ${m.key}`,
    `dir ${dir}`,
    `params ${JSON.stringify(m.params)}`,
    `upstream ${JSON.stringify(m.upstream)}`,
    `backend ${m.backend}, seed ${m.seed}, computed ${m.timings.finished} in ${fixed2(m.timings?.seconds)} s on ${m.producedBy.host}:${m.producedBy.pid}`,
    `metrics ${formatMetrics(m.metrics) || '(none)'}`,
    'files:',
  ];
  for (const f of m.files)
    lines.push(`  ${f.path.padEnd(28)} ${String(f.bytes).padStart(10)} B  ${f.role.padEnd(10)} sha256 ${f.sha256.slice(0, 16)}…`);
  return lines.join('\n');
}

/** `specpipe show RUN|STAGE|KEY [--json]`: a run record, or the manifests of a stage's artifacts. */
export async function showCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { store: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' }, run: { type: 'string' } },
  });
  if (positionals.length !== 1)
    throw new SpecpipeError(
      'bad-args',
      'usage: specpipe show RUN|STAGE|INSTANCE|KEY [--run RUN] [--store PATH] [--runs PATH] [--json]',
      2,
    );
  const ref = positionals[0]!;
  const storePath = values.store ?? 'artifacts';
  const runsDir = values.runs ?? defaultRunsDir(storePath);
  const store = new ArtifactStore(storePath);
  const ids = listRunIds(runsDir);
  // 1. A run.
  if (/^(last|latest)(~\d+)?$/.test(ref) || ids.some((i) => i.startsWith(ref))) {
    const r = readRunRecord(runsDir, resolveRunId(runsDir, ref));
    process.stdout.write((values.json === true ? JSON.stringify(r, null, 2) : formatRun(r)) + '\n');
    // The record outlives its artifacts: say when gc took them, and fail (scripts check the code).
    const gone = collectedMessage(r, collectedStages(r));
    if (gone === undefined) return 0;
    process.stderr.write(`specpipe show: ${gone}\n`);
    return 1;
  }
  // 2. A key (or a prefix of at least 6 hex digits).
  let keys: string[] = [];
  if (/^[0-9a-f]{6,64}$/.test(ref)) keys = store.keys().filter((k) => k.startsWith(ref));
  // 3. A stage or instance name in a run (default: the last).
  if (keys.length === 0 && ids.length > 0) {
    const r = readRunRecord(runsDir, resolveRunId(runsDir, values.run ?? 'last'));
    keys = r.stages.filter((s) => s.stage === ref || s.name === ref).map((s) => s.key);
  }
  if (keys.length === 0)
    throw new SpecpipeError(
      'not-found',
      `show ${ref}: no run, artifact key, stage or instance of that name (runs in ${runsDir}, store ${store.root})`,
    );
  const out: Manifest[] = [];
  const text: string[] = [];
  for (const k of keys) {
    const v = store.verify(k);
    if (!v.ok) {
      text.push(`${k}: ${v.reason}`);
      continue;
    }
    out.push(v.manifest);
    text.push(formatManifest(v.manifest, store.dir(k)));
  }
  process.stdout.write((values.json === true ? JSON.stringify(out, null, 2) : text.join('\n\n')) + '\n');
  return 0;
}
