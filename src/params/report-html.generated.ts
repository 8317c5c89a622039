/**
 * GENERATED from schemas/stages/report-html.schema.json by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.
 * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).
 */
/**
 * One self-contained HTML report (Vega-Lite figures rendered to inline SVG) of the gathered stages' report fragments (src/report/reportStage.ts).
 */
export interface ReportHtmlParams {
  /**
   * Title of the report (default: specpipe report).
   */
  title?: string;
  /**
   * Paragraphs shown under the title.
   */
  notes?: string[];
}
