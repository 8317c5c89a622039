import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext, StageKind, UpstreamArtifact } from '../stages/registry.js';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { fragmentsOf, type ArtifactView } from './collectReportData.js';
import { mergeFragments } from './reportFragment.js';
import { renderReport } from './renderReport.js';
import type { ReportData } from './reportData.js';
import { loadSchema } from '../pipeline/schemaFiles.js';
import type { ReportHtmlParams } from '../params/report-html.generated.js';

/**
 * Stage kind `report/html`: gathers the instances of the listed stages (`gather:`, and `needs:`),
 * concatenates their report fragments (or derives spectra from their 'spectrum' Arrow files), and
 * writes report.html (self-contained) and report-data.json (the ReportData it was rendered from,
 * so `specpipe report --data` can re-render it).
 */
export const REPORT_HTML_FILE = 'report.html';
export const REPORT_DATA_FILE = 'report-data.json';

/** Params of report/html (generated from schemas/stages/report-html.schema.json). */
type ReportParams = ReportHtmlParams;

function view(a: UpstreamArtifact): ArtifactView {
  return { name: a.name, kind: a.kind, dir: a.dir, coords: a.coords, params: a.params, manifest: a.manifest };
}

export const reportHtmlStage: StageKind<ReportParams> = {
  kind: 'report/html',
  version: 2,
  description: 'one self-contained HTML report (Vega-Lite figures rendered to inline SVG) of the gathered stages',
  usesBackend: false,
  outputs: { [REPORT_HTML_FILE]: 'data', [REPORT_DATA_FILE]: 'data' },
  paramsSchema: loadSchema('stages/report-html.schema.json'),
  async run(ctx: StageContext<ReportParams>) {
    const seen = new Set<string>();
    const views: ArtifactView[] = [];
    for (const a of [...Object.values(ctx.needs), ...Object.values(ctx.gathered).flat()]) {
      if (seen.has(a.key)) continue;
      seen.add(a.key);
      views.push(view(a));
    }
    const base: ReportData = {
      title: ctx.params.title ?? 'specpipe report',
      ...(ctx.params.notes !== undefined && { notes: ctx.params.notes }),
    };
    const data = mergeFragments(base, fragmentsOf(views));
    const html = await renderReport(data);
    writeFileSync(join(ctx.outDir, REPORT_DATA_FILE), JSON.stringify(data) + '\n');
    writeFileAtomic(join(ctx.outDir, REPORT_HTML_FILE), html);
    return { metrics: { upstream: views.length, spectra: data.spectra?.length ?? 0, bytes: html.length } };
  },
};
