import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSchema } from '../../util/schemaFiles.js';
import { writeFileAtomic } from '../../util/atomicWrite.js';
import type { StageKind, UpstreamArtifact } from '../registry.js';
import type { ReportHtmlParams } from './params.js';

/**
 * Stage kind `report/html`: gathers the instances of the listed stages (`gather:`, and `needs:`),
 * concatenates their report fragments (or derives spectra from their 'spectrum' Arrow files), and
 * writes report.html (self-contained) and report-data.json (the ReportData it was rendered from,
 * so `specpipe report --data` can re-render it).
 */
export const REPORT_HTML_FILE = 'report.html';
export const REPORT_DATA_FILE = 'report-data.json';

export const reportHtmlStage: StageKind<ReportHtmlParams> = {
  kind: 'report/html',
  version: 8,
  description: 'one self-contained HTML report (Vega-Lite figures rendered to inline SVG) of the gathered stages',
  usesBackend: false,
  outputs: { [REPORT_HTML_FILE]: 'data', [REPORT_DATA_FILE]: 'data' },
  paramsSchema: loadSchema('stages/report-html.schema.json'),
  async run(ctx) {
    const { fragmentsOf } = await import('../../report/collectReportData.js');
    const { mergeFragments } = await import('../../report/reportFragment.js');
    const { renderReport } = await import('../../report/renderReport.js');
    const seen = new Set<string>();
    const upstream: UpstreamArtifact[] = [];
    for (const a of [...Object.values(ctx.needs), ...Object.values(ctx.gathered).flat()])
      if (!seen.has(a.key)) (seen.add(a.key), upstream.push(a));
    const data = mergeFragments(
      { title: ctx.params.title ?? 'specpipe report', ...(ctx.params.notes !== undefined && { notes: ctx.params.notes }) },
      fragmentsOf(
        upstream.map((a) => ({
          name: a.name,
          kind: a.kind,
          dir: a.dir,
          coords: a.coords,
          params: a.params,
          manifest: a.manifest,
        })),
      ),
    );
    const html = await renderReport(data);
    writeFileSync(join(ctx.outDir, REPORT_DATA_FILE), JSON.stringify(data) + '\n');
    writeFileAtomic(join(ctx.outDir, REPORT_HTML_FILE), html);
    return { metrics: { upstream: upstream.length, spectra: data.spectra?.length ?? 0, bytes: html.length } };
  },
};
