import type { DenseValidation, ValidationRow } from '../decompose/denseValidation.js';
import type { ReportFragment } from './reportFragment.js';
import type { SeriesTags, Split } from './reportData.js';

/**
 * The report's validation panel (issue 12, item 3): for a net small enough for dense float64 ground
 * truth (validate/dense), how far each estimate of the run is from the exact spectrum, and two checks
 * no estimate enters — λ_min(B2) ≥ −tolerance with B2 from its definition, and ‖A1+A2+B1+B2 − G‖/‖G‖.
 * Every number comes from the validate/dense artifact (validation.arrow, its metrics).
 */

/** One estimate compared with the exact spectrum (absent fields: not measured by that estimate). */
export interface ValidationPanelRow {
  /** The estimating stage instance. */
  readonly estimate: string;
  /** Operator, "-deflated" when its SLQ ran on the bulk; "(Gram)" rows are the decomposition's exact-from-Gram pieces. */
  readonly operator: string;
  readonly topK: number;
  readonly topRelativeErrorMax?: number;
  readonly w1OverWidth?: number;
  readonly densityL1?: number;
  readonly bandCoverage?: number;
  readonly outliersExact?: number;
  readonly outliersEstimated?: number;
}

/** One validate/dense instance: the net, its checks and its rows. */
export interface ValidationPanel extends SeriesTags {
  readonly split: Split;
  readonly parameters: number;
  readonly samples: number;
  readonly checks: readonly { readonly name: string; readonly value: number; readonly note: string }[];
  readonly rows: readonly ValidationPanelRow[];
}

/** The operator label of a row (the same key names its metrics). */
export function validationRowKey(r: ValidationRow): string {
  return `${r.operator}${r.deflated > 0 ? '-deflated' : ''}${r.source === 'decompose/class-gradients' ? ' (Gram)' : ''}`;
}

const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

export function validationFragment(v: DenseValidation, tags: SeriesTags, split: Split): ReportFragment {
  const rows: ValidationPanelRow[] = v.rows.map((r) => {
    const c = r.comparison;
    const top = c.topRelativeErrors ?? [];
    const topMax = top.length > 0 ? Math.max(...top) : undefined;
    return {
      estimate: r.label,
      operator: validationRowKey(r),
      topK: top.length,
      ...(finite(topMax) && { topRelativeErrorMax: topMax }),
      ...(finite(c.w1OverWidth) && { w1OverWidth: c.w1OverWidth }),
      ...(finite(c.densityL1) && { densityL1: c.densityL1 }),
      ...(finite(c.bandMassFraction) && { bandCoverage: c.bandMassFraction }),
      ...(r.outliers !== undefined && { outliersExact: r.outliers.exact.count, outliersEstimated: r.outliers.estimated.count }),
    };
  });
  const b = v.b2;
  const checks = [
    {
      name: 'λ_min(B2), dense from its definition',
      value: b.lambdaMin,
      note:
        `λ_max(B2) = ${b.lambdaMax.toPrecision(4)}; B2 ⪰ 0 check (λ_min ≥ −1e-10·λ_max): ${b.psd ? 'holds' : 'FAILS'}` +
        (b.estimated !== undefined
          ? `; the decomposition's Lanczos λ_min(B2) = ${b.estimated.value.toPrecision(4)} ± ${b.estimated.residual.toPrecision(2)}`
          : ''),
    },
    {
      name: '‖A1+A2+B1+B2 − G‖_F / ‖G‖_F',
      value: v.identityResidual,
      note: 'each piece from its own definition, G from float64 products: a check, not an identity by construction',
    },
  ];
  return { validation: [{ ...tags, split, parameters: v.parameters, samples: v.samples, checks, rows }] };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (x: number | undefined, pct = false): string =>
  x === undefined ? '—' : pct ? `${(100 * x).toFixed(1)}%` : x === 0 ? '0' : x.toExponential(2);

/** The panel's HTML: one block per validated net (empty string without validation data). */
export function validationPanelHtml(panels: readonly ValidationPanel[] | undefined): string {
  if (panels === undefined || panels.length === 0) return '';
  const blocks = panels.map((p) => {
    const net = [p.dataset, p.model, p.epoch !== undefined ? `epoch ${p.epoch}` : undefined, p.split]
      .filter((x) => x !== undefined)
      .join(', ');
    const checks = p.checks
      .map((c) => `<tr><td>${esc(c.name)}</td><td class="num">${esc(fmt(c.value))}</td><td>${esc(c.note)}</td></tr>`)
      .join('');
    const rows = p.rows
      .map(
        (r) =>
          `<tr><td>${esc(r.estimate)}</td><td>${esc(r.operator)}</td><td class="num">${r.topK}</td><td class="num">${fmt(r.topRelativeErrorMax)}</td>` +
          `<td class="num">${fmt(r.w1OverWidth)}</td><td class="num">${fmt(r.densityL1)}</td><td class="num">${fmt(r.bandCoverage, true)}</td>` +
          `<td class="num">${r.outliersExact ?? '—'} / ${r.outliersEstimated ?? '—'}</td></tr>`,
      )
      .join('');
    return (
      `<div class="validation" data-validation="${esc(net)}"><p><b>${esc(net)}</b>: P = ${p.parameters} parameters, N = ${p.samples} samples; every operator dense in float64 and eigendecomposed exactly.</p>` +
      `<table><thead><tr><th>check</th><th>value</th><th>note</th></tr></thead><tbody>${checks}</tbody></table>` +
      `<table><thead><tr><th>estimate</th><th>operator</th><th>k</th><th>max top-k rel. error</th><th>SLQ W1 / width</th><th>density L1</th><th>exact density in band</th><th>outliers exact / est.</th></tr></thead><tbody>${rows}</tbody></table>` +
      `<p class="meta">Estimates against exact ground truth: top-k eigenvalues |λ̂_i − λ_i|/|λ_i|; SLQ measure Wasserstein-1 over the spectral width; L1 distance between the smoothed SLQ density and the exact eigenvalues smoothed by the same kernel; the fraction of that exact density's grid mass inside the start-vector band (— with one start vector); outliers by the one counting rule on both sides.</p></div>`
    );
  });
  return `<section id="validation"><h2>Validation against exact ground truth</h2>${blocks.join('\n')}</section>`;
}
