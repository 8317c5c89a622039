/** Params of report/html: the type generated from schemas/stages/report-html.schema.json. */
export type { ReportHtmlParams } from '../../params/report-html.generated.js';
