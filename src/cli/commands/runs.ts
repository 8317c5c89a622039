import { parseArgs } from 'node:util';
import { defaultRunsDir, listRunIds, readRunRecord, runStatus } from '../../store/runRecord.js';
import { pinnedRuns } from '../../store/runPins.js';

/** `specpipe runs [--store PATH] [--runs PATH] [--json]`: recorded runs, oldest first. */
export async function runsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { store: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' } },
  });
  const runsDir = values.runs ?? defaultRunsDir(values.store ?? 'artifacts');
  const records = listRunIds(runsDir).map((id) => readRunRecord(runsDir, id));
  const pinned = pinnedRuns(runsDir);
  if (values.json === true) {
    const rows = records.map((r) => ({
      run: r.run,
      pipeline: r.pipeline.name,
      file: r.pipeline.file,
      overrides: r.pipeline.overrides,
      started: r.started,
      status: runStatus(r),
      pinned: pinned.has(r.run),
      seconds: r.seconds,
      ...r.counts,
      executor: r.executor,
      workers: [...new Set(r.stages.map((s) => s.worker).filter((w): w is string => w !== undefined))],
    }));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (records.length === 0) {
    process.stdout.write(`no runs recorded in ${runsDir}\n`);
    return 0;
  }
  process.stdout.write(
    `${'run'.padEnd(24)} ${'pipeline'.padEnd(16)} ${'executed'.padStart(8)} ${'cached'.padStart(7)} ${'failed'.padStart(7)} ${'seconds'.padStart(8)}  executor / workers / --set\n`,
  );
  for (const r of records) {
    const workers = [...new Set(r.stages.map((s) => s.worker).filter((w): w is string => w !== undefined))];
    const extra = [
      pinned.has(r.run) ? 'PINNED' : '',
      runStatus(r) === 'interrupted' ? 'INTERRUPTED' : '',
      r.executor,
      workers.length > 0 ? `workers: ${workers.join(', ')}` : '',
      r.pipeline.overrides.map((o) => `--set ${o}`).join(' '),
    ]
      .filter((x) => x !== '')
      .join('; ');
    process.stdout.write(
      `${r.run.padEnd(24)} ${r.pipeline.name.padEnd(16)} ${String(r.counts.executed).padStart(8)} ${String(r.counts.cached).padStart(7)} ${String(r.counts.failed).padStart(7)} ${r.seconds.toFixed(2).padStart(8)}  ${extra}\n`,
    );
  }
  return 0;
}
