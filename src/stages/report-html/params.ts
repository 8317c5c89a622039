/** Params of report/html (schemas/stages/report-html.schema.json). */
export interface ReportHtmlParams {
  title?: string;
  notes?: string[];
}
