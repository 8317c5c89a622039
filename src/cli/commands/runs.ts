import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import { defaultRunsDir, listRunIds, readRunRecord, runStatus } from '../../store/runRecord.js';
import { pinnedRuns } from '../../store/runPins.js';
import { formatRunTable, runTable, runTableCsv, runTableJson } from '../../pipeline/runTable.js';

/** `specpipe runs [--table] [--pipeline NAME] [--json|--csv]`: recorded runs, oldest first. */
export async function runsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      table: { type: 'boolean' },
      pipeline: { type: 'string' },
      metrics: { type: 'string' },
    },
  });
  if (values.json === true && values.csv === true)
    throw new SpecpipeError('bad-args', 'runs: --json and --csv exclude each other; give one', 2);
  if (values.metrics !== undefined && values.table !== true)
    throw new SpecpipeError('bad-args', `runs: --metrics ${values.metrics} only applies to --table`, 2);
  const runsDir = values.runs ?? defaultRunsDir(values.store ?? 'artifacts');
  const all = listRunIds(runsDir).map((id) => readRunRecord(runsDir, id));
  const records = values.pipeline === undefined ? all : all.filter((r) => r.pipeline.name === values.pipeline);
  if (values.pipeline !== undefined && records.length === 0 && all.length > 0) {
    const names = [...new Set(all.map((r) => r.pipeline.name))];
    throw new SpecpipeError(
      'no-such-pipeline',
      `runs --pipeline ${values.pipeline}: no run of that pipeline in ${runsDir} (pipelines: ${names.join(', ')})`,
    );
  }
  if (values.table === true) {
    const metrics = values.metrics
      ?.split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    const t = runTable(records, metrics !== undefined ? { metrics } : {});
    if (values.json === true) process.stdout.write(JSON.stringify(runTableJson(t), null, 2) + '\n');
    else if (values.csv === true) process.stdout.write(runTableCsv(t) + '\n');
    else if (records.length === 0) process.stdout.write(`no runs recorded in ${runsDir}\n`);
    else process.stdout.write(formatRunTable(t, terminalWidth()) + '\n');
    return 0;
  }
  if (values.csv === true) throw new SpecpipeError('bad-args', 'runs: --csv needs --table', 2);
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

/** The terminal's width when stdout is one, else $COLUMNS, else 120. */
function terminalWidth(): number {
  if (process.stdout.isTTY && process.stdout.columns > 0) return process.stdout.columns;
  const c = Number(process.env['COLUMNS']);
  return Number.isInteger(c) && c >= 40 ? c : 120;
}
