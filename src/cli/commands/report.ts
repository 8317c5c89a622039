import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomicWrite.js';
import { validateReportData, type ReportData } from '../../report/reportData.js';
import { renderReport } from '../../report/renderReport.js';
import { reportDataFromRun } from '../../report/collectReportData.js';
import { defaultRunsDir, readRunRecord, resolveRunId } from '../../store/runRecord.js';
import { collectedMessage, collectedStages } from '../../store/collectedArtifacts.js';

const USAGE = `usage: specpipe report RUN [--out F.html] [--store PATH] [--runs PATH]
       specpipe report --data F.json [--out F.html]

Writes one self-contained HTML report (figures rendered to inline SVG).
  RUN             a run id (or unique prefix, "last", "last~N"): the report of its stage artifacts
  --data F.json   render ReportData from a JSON file instead (see src/report/reportData.ts)
  --out F.html    output file (default: report-<run id>.html, or report.html with --data)
  --store PATH    artifact store (default: artifacts); --runs PATH: run records (default: beside the store)
`;

/** `specpipe report RUN [--out F.html]` or `specpipe report --data F.json [--out F.html]`. */
export async function reportCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        out: { type: 'string', short: 'o' },
        store: { type: 'string' },
        runs: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new SpecpipeError('bad-arguments', `${e instanceof Error ? e.message : String(e)}\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 1)
    throw new SpecpipeError('bad-arguments', `expected at most one RUN, received ${JSON.stringify(positionals)}\n${USAGE}`, 2);
  const run = positionals[0];
  if (values.data === undefined) {
    if (run === undefined)
      throw new SpecpipeError('bad-arguments', `give a RUN or --data F.json (received neither)\n${USAGE}`, 2);
    const storePath = values.store ?? 'artifacts';
    const runsDir = values.runs ?? defaultRunsDir(storePath);
    const record = readRunRecord(runsDir, resolveRunId(runsDir, run));
    const gone = collectedMessage(record, collectedStages(record));
    if (gone !== undefined) throw new SpecpipeError('artifacts-collected', `${gone}; no report written`);
    const data = reportDataFromRun(record);
    const out = values.out ?? `report-${record.run}.html`;
    const html = await renderReport(data);
    writeFileAtomic(out, html);
    process.stdout.write(`specpipe report: wrote ${out} (${(html.length / 1024).toFixed(0)} KiB) from run ${record.run}\n`);
    return 0;
  }
  let text: string;
  try {
    text = readFileSync(values.data, 'utf8');
  } catch (e) {
    throw new SpecpipeError(
      'report-data-missing',
      `--data ${values.data}: cannot read the file (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SpecpipeError(
      'report-data-json',
      `--data ${values.data}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const data: ReportData = validateReportData(json, values.data);
  const out = values.out ?? (run !== undefined ? `${run}.html` : 'report.html');
  const html = await renderReport(data);
  writeFileAtomic(out, html);
  process.stdout.write(`specpipe report: wrote ${out} (${(html.length / 1024).toFixed(0)} KiB)\n`);
  return 0;
}
