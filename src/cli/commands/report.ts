import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SpecpipeError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomicWrite.js';
import { validateReportData, type ReportData } from '../../report/reportData.js';
import { renderReport } from '../../report/renderReport.js';
import { writeFigureFiles, type RenderedFigure } from '../../report/figureFiles.js';
import { reportDataFromRuns } from '../../report/collectReportData.js';
import { defaultRunsDir, readRunRecord, resolveRunId } from '../../store/runRecord.js';
import { collectedMessage, collectedStages } from '../../store/collectedArtifacts.js';

const USAGE = `usage: specpipe report RUN [RUN_B ...] [--out F.html] [--figures DIR] [--store PATH] [--runs PATH]
       specpipe report --data F.json [--out F.html] [--figures DIR]

Writes one self-contained HTML report (figures rendered to inline SVG).
  RUN             a run id (or unique prefix, "last", "last~N"): the report of its stage artifacts
  RUN_B ...       more runs to compare: each figure of every run side by side, a column per run,
                  titles and numbers naming the runs (default out: report-<A>-vs-<B>.html)
  --data F.json   render ReportData from a JSON file instead (see src/report/reportData.ts)
  --out F.html    output file (default: report-<run id>.html, or report.html with --data)
  --figures DIR   also write every figure as SVG and PNG (DIR/figNN-<id>.svg, .png) and DIR/figures.json
                  (number, id, caption and files of each, in report order)
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
        figures: { type: 'string' },
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
  if (values.data !== undefined && positionals.length > 1)
    throw new SpecpipeError(
      'bad-arguments',
      `--data renders one file: give no RUN with it, received ${JSON.stringify(positionals)}\n${USAGE}`,
      2,
    );
  const run = positionals[0];
  if (values.data === undefined) {
    if (run === undefined)
      throw new SpecpipeError('bad-arguments', `give a RUN or --data F.json (received neither)\n${USAGE}`, 2);
    const storePath = values.store ?? 'artifacts';
    const runsDir = values.runs ?? defaultRunsDir(storePath);
    const records = positionals.map((r) => readRunRecord(runsDir, resolveRunId(runsDir, r)));
    const ids = records.map((r) => r.run);
    if (new Set(ids).size < ids.length)
      throw new SpecpipeError(
        'bad-arguments',
        `the runs to compare must differ, received ${JSON.stringify(positionals)} → ${ids.join(', ')}`,
        2,
      );
    // Every run given must still have its artifacts: a run gc collected is refused (one line per run).
    const gone = records.map((r) => collectedMessage(r, collectedStages(r))).filter((m): m is string => m !== undefined);
    if (gone.length > 0) throw new SpecpipeError('artifacts-collected', `${gone.join('\n')}; no report written`);
    const data = reportDataFromRuns(records);
    const out = values.out ?? `report-${ids.join('-vs-')}.html`;
    const html = await renderWithFigures(data, values.figures);
    writeFileAtomic(out, html);
    process.stdout.write(
      `specpipe report: wrote ${out} (${(html.length / 1024).toFixed(0)} KiB) from ${ids.length > 1 ? `runs ${ids.join(' and ')}` : `run ${ids[0]}`}\n`,
    );
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
  const html = await renderWithFigures(data, values.figures);
  writeFileAtomic(out, html);
  process.stdout.write(`specpipe report: wrote ${out} (${(html.length / 1024).toFixed(0)} KiB)\n`);
  return 0;
}

/** The report's HTML; with `--figures DIR` every figure also goes to DIR as SVG and PNG (one stdout line says so). */
async function renderWithFigures(data: ReportData, figuresDir: string | undefined): Promise<string> {
  const figures: RenderedFigure[] = [];
  const html = await renderReport(data, { onFigure: (f) => figures.push(f) });
  if (figuresDir !== undefined) {
    await writeFigureFiles(figuresDir, figures);
    process.stdout.write(
      `specpipe report: wrote ${figures.length} figures as SVG and PNG to ${figuresDir} (index: figures.json)\n`,
    );
  }
  return html;
}
