import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import { defaultRunsDir, readRunRecord, resolveRunId } from '../../store/runRecord.js';
import { pinRun, pinnedRuns, unpinRun } from '../../store/runPins.js';
import { collectedStages } from '../../store/collectedArtifacts.js';

export const PIN_USAGE = `usage: specpipe pin RUN [--store PATH] [--runs PATH]

Pins a run: gc never removes the artifacts it references, whatever --keep-runs, --max-size or
--max-age say. specpipe runs marks pinned runs; specpipe unpin RUN releases it.
  RUN            a run id (or unique prefix, "last", "last~N")
  --store PATH   artifact store (default artifacts); --runs PATH: run records (default: beside the store)`;

export const UNPIN_USAGE = `usage: specpipe unpin RUN [--store PATH] [--runs PATH]

Releases a pin: the run's artifacts are again subject to gc's retention (--keep-runs per pipeline).
  RUN            a run id (or unique prefix, "last", "last~N")
  --store PATH   artifact store (default artifacts); --runs PATH: run records (default: beside the store)`;

/** RUN and the runs directory; undefined after printing the usage for --help. */
function runArg(argv: string[], usage: string): { run: string; runsDir: string } | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { store: { type: 'string' }, runs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    process.stdout.write(usage + '\n');
    return undefined;
  }
  if (positionals.length !== 1)
    throw new SpecpipeError(
      'bad-args',
      `expected one RUN, received ${positionals.length === 0 ? 'none' : positionals.join(' ')}\n${usage}`,
      2,
    );
  const runsDir = values.runs ?? defaultRunsDir(values.store ?? 'artifacts');
  return { run: resolveRunId(runsDir, positionals[0]!), runsDir };
}

/** `specpipe pin RUN`: gc keeps the run's artifacts until it is unpinned. */
export async function pinCommand(argv: string[]): Promise<number> {
  const arg = runArg(argv, PIN_USAGE);
  if (arg === undefined) return 0;
  const { run, runsDir } = arg;
  const record = readRunRecord(runsDir, run);
  const already = pinnedRuns(runsDir).has(run);
  pinRun(runsDir, run);
  const produced = record.stages.filter((s) => s.status !== 'failed').length;
  process.stdout.write(
    `${already ? 'already pinned' : 'pinned'} run ${run} (pipeline ${record.pipeline.name}, ${produced} stage artifacts): gc keeps them until specpipe unpin ${run}\n`,
  );
  const gone = collectedStages(record);
  if (gone.length > 0)
    process.stderr.write(
      `note: ${gone.length} of them were already collected (${gone.map((s) => s.name).join(', ')}); rerun specpipe run ${record.pipeline.file} to recompute them\n`,
    );
  return 0;
}

/** `specpipe unpin RUN`. */
export async function unpinCommand(argv: string[]): Promise<number> {
  const arg = runArg(argv, UNPIN_USAGE);
  if (arg === undefined) return 0;
  const { run, runsDir } = arg;
  if (!unpinRun(runsDir, run))
    throw new SpecpipeError('not-pinned', `run ${run} is not pinned (specpipe runs marks pinned runs)`);
  process.stdout.write(`unpinned run ${run}: gc may remove its artifacts once it is outside --keep-runs of its pipeline\n`);
  return 0;
}
