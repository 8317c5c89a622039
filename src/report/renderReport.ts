import type {
  EmbeddingData,
  HierarchyScoreRow,
  NumberRow,
  ReportData,
  ScalarPoint,
  SeriesTags,
  SpectrumSeries,
} from './reportData.js';
import { embeddingHierarchyScore } from '../embed/hierarchyScore.js';
import { variantLabel, variantTitle } from './variants.js';
import { piecesSpec, runOverlaySpec, spectrumPanelsSpec } from './pieceSpecs.js';
import { renderVegaLiteSvg, type VegaLiteSpec } from './vegaSvg.js';
import type { RenderedFigure } from './figureFiles.js';
import { validationPanelHtml } from './validationFragment.js';
import { CURVATURE_OPERATORS, isCurvatureKind } from '../curvature/operatorKind.js';
import {
  overlaySpec,
  logSpectrumSpec,
  logSpectrumFits,
  eigenvalueComparisonSpec,
  embeddingSpec,
  dynamicsSpectraSpec,
  dynamicsGridSpec,
  scalarsSpec,
  trainingSpec,
  operatorLabel,
} from './reportSpecs.js';
import { averagedRows, formatSpread, groupSeeds, onlySeed, seedCaption, seedCount, seedsOf } from './seedGroups.js';

/**
 * One self-contained HTML page (no scripts, no external resources) from ReportData: every figure
 * is a Vega-Lite spec rendered to SVG in Node and inlined.
 *
 * Figures are contributed by what the data holds, for any pipeline: each spectrum its density (with
 * its start-vector band and top-k outliers); each training run its curves; each decomposition its
 * pieces (exact eigenvalues as stems) and hierarchy scores; each embedding its picture. Papyan's
 * panels (Figure 1, Hess vs G vs H, the log-spectrum of H, G's pieces, Figure 2, the dynamics)
 * appear where their inputs exist. A panel without data is left out, never drawn empty.
 *
 * Series of one (dataset, model) that differ by the pipeline's matrix axes (or by run, when runs
 * are compared) are labelled by those axes (variants.ts); the main panels show the largest sample
 * size at the latest epoch.
 */

type Figure = { id: string; caption: string; spec?: VegaLiteSpec; html?: string };

interface Case {
  readonly key: string;
  readonly dataset: string;
  readonly model: string;
  readonly run?: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function caseOf(t: { dataset?: string; model?: string; run?: string }): Case {
  const dataset = t.dataset ?? '—';
  const model = t.model ?? '—';
  return { key: `${t.run ?? ''}|${dataset}/${model}`, dataset, model, ...(t.run !== undefined && { run: t.run }) };
}

interface Snapshot {
  readonly epoch?: number;
  readonly samplesPerClass?: number;
  readonly variant: string;
}

/** The snapshot of the main panels: the largest sample size, then the latest epoch, then the first variant. */
function primarySnapshot(series: readonly SeriesTags[]): Snapshot {
  let best: SeriesTags | undefined;
  const rank = (t: SeriesTags): [number, number] => [t.samplesPerClass ?? -Infinity, t.epoch ?? -Infinity];
  for (const s of series) {
    if (best === undefined) best = s;
    else {
      const [a1, b1] = rank(s);
      const [a2, b2] = rank(best);
      if (a1 > a2 || (a1 === a2 && b1 > b2) || (a1 === a2 && b1 === b2 && variantLabel(s).localeCompare(variantLabel(best)) < 0))
        best = s;
    }
  }
  return best === undefined
    ? { variant: '' }
    : {
        ...(best.epoch !== undefined && { epoch: best.epoch }),
        ...(best.samplesPerClass !== undefined && { samplesPerClass: best.samplesPerClass }),
        variant: variantLabel(best),
      };
}

function sameSnapshot(t: SeriesTags, snap: Snapshot): boolean {
  return t.epoch === snap.epoch && t.samplesPerClass === snap.samplesPerClass && variantLabel(t) === snap.variant;
}

function snapshotText(snap: { epoch?: number; samplesPerClass?: number; variant?: string }): string {
  const parts = [];
  if (snap.epoch !== undefined) parts.push(`epoch ${snap.epoch}`);
  if (snap.variant !== undefined && snap.variant !== '') parts.push(snap.variant);
  else if (snap.samplesPerClass !== undefined) parts.push(`${snap.samplesPerClass} samples/class`);
  return parts.length > 0 ? parts.join(', ') : 'single snapshot';
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}

const PIECES = ['a1', 'a2', 'b1', 'b2'] as const;

function caseFigures(data: ReportData, c: Case, fitRows: NumberRow[]): { title: string; figures: Figure[] } {
  const inCase = <T extends { dataset?: string; model?: string; run?: string }>(xs: readonly T[] | undefined): T[] =>
    (xs ?? []).filter((x) => caseOf(x).key === c.key);
  const spectra = inCase(data.spectra);
  const exactAll = inCase(data.exactEigenvalues);
  const snap = primarySnapshot(spectra.length > 0 ? spectra : [...inCase(data.embeddings), ...exactAll]);
  const at = spectra.filter((s) => sameSnapshot(s, snap));
  const used = new Set<SpectrumSeries>();
  const find = (op: string, split: 'train' | 'test'): SpectrumSeries | undefined =>
    at.find((s) => s.operator === op && s.split === split);
  const title = `${c.run !== undefined ? `${c.run} — ` : ''}${c.dataset} · ${c.model}`;
  const snapText = snapshotText(snap);
  const figures: Figure[] = [];

  // Figure 1: train and test Hessian, each with its band and outliers
  const hTrain = find('hessian', 'train');
  const hTest = find('hessian', 'test');
  if (hTrain || hTest) {
    const f = spectrumPanelsSpec(
      [hTrain, hTest].filter((s): s is SpectrumSeries => s !== undefined),
      title,
      'Hessian',
    );
    [hTrain, hTest].forEach((s) => s && used.add(s));
    figures.push({
      id: 'figure1',
      caption: `Figure 1 style: train and test Hessian spectra (${snapText}), log density, the top-k Lanczos eigenvalues marked ▼ (how many are outliers: the rule's count in the table of numbers). ${f.notes.join(' ')}`,
      spec: f.spec,
    });
  }

  // Attribution: Hess vs G vs H per split, one kernel width
  for (const split of ['train', 'test'] as const) {
    const ops = CURVATURE_OPERATORS.map((o) => find(o, split)).filter((s): s is SpectrumSeries => s !== undefined);
    if (ops.length < 2) continue;
    ops.forEach((s) => used.add(s));
    const f = overlaySpec(ops, `${title} — ${split}: ${ops.map((s) => operatorLabel(s.operator)).join(' vs ')}`);
    figures.push({
      id: `attribution-${split}`,
      caption: `Attribution (${split}, ${snapText}): Hess = G + H overlaid. ${f.notes.join(' ')}`,
      spec: f.spec,
    });
  }
  const hRes = find('residual', 'train') ?? find('residual', 'test');
  if (hRes !== undefined) {
    const fits = logSpectrumFits(hRes);
    const pl = fits.powerLaw;
    const ci = pl !== null ? `[${formatValue(pl.interval[0])}, ${formatValue(pl.interval[1])}]` : '';
    fitRows.push(
      {
        claim: 'd',
        name: `${title}: power-law exponent α of H's log-spectrum over ${fits.range.lo.toPrecision(2)} ≤ |λ| ≤ ${fits.range.hi.toPrecision(2)} [${hRes.split}]`,
        value: pl?.exponent ?? 'no fit',
        ...(pl !== null && { note: `95% interval ${ci} (${pl.intervalMethod}); ${fits.range.rule}` }),
      },
      { claim: 'd', name: `${title}: power-law fit R²(log ρ), same range [${hRes.split}]`, value: pl?.r2 ?? 'no fit' },
      {
        claim: 'd',
        name: `${title}: semicircle fit R²(log ρ), same range [${hRes.split}]`,
        value: fits.semicircle?.r2 ?? 'no fit',
        ...(fits.semicircle !== null && {
          note: `semicircle fitted to the same range: m = ${formatValue(fits.semicircle.center)}, R = ${formatValue(fits.semicircle.radius)}`,
        }),
      },
    );
    figures.push({
      id: 'log-spectrum-h',
      caption:
        `Log-spectrum of H (${hRes.split}, ${snapText}). Both fits run over the resolved bulk only, ${fits.range.rule} (points with density ≥ 10⁻³ × the range's peak); ` +
        `the semicircle is fitted to that same range (moments and mass there). ${pl !== null ? `α = ${formatValue(pl.exponent)}, 95% interval ${ci} by ${pl.intervalMethod}.` : ''}`,
      spec: logSpectrumSpec(hRes, title, fits),
    });
    used.add(hRes);
  }

  // G's pieces: exact low-rank spectra (A1, A2, B1) as stems beside the smoothed B2 and G
  const exactAt = exactAll.filter((e) => sameSnapshot(e, snap));
  const pieceSeries = PIECES.map((o) => find(o, 'train') ?? find(o, 'test')).filter((s): s is SpectrumSeries => s !== undefined);
  const pieceSplit = exactAt.find((e) => e.piece === 'a1')?.split ?? pieceSeries[0]?.split;
  if (pieceSplit !== undefined && (exactAt.length > 0 || pieceSeries.length > 0)) {
    const stems = exactAt.filter((e) => e.split === pieceSplit && e.piece !== 'a1+a2+b1');
    const exactPieces = new Set(stems.map((e) => e.piece as string));
    const curves = [
      ...pieceSeries.filter((s) => s.split === pieceSplit && !exactPieces.has(s.operator)),
      ...[find('ggn', pieceSplit)].filter((s): s is SpectrumSeries => s !== undefined),
    ];
    pieceSeries.forEach((s) => used.add(s));
    const f = piecesSpec(curves, stems, `${title} — G = A1 + A2 + B1 + B2 (${pieceSplit})`);
    figures.push({
      id: 'pieces',
      caption: `G's pieces (${pieceSplit}, ${snapText}): A1 (class means), A2 (self terms) and B1 (cross-class) are low rank and drawn at their exact eigenvalues; B2 (within-class, the bulk) and G as SLQ densities. ${f.notes.join(' ')}`,
      spec: f.spec,
    });
  }
  const exactSplit = exactAt.find((e) => e.piece === 'a1')?.split ?? 'train';
  const exactA1 = exactAt.filter((e) => e.piece === 'a1' && e.split === exactSplit);
  const gSeries = find('ggn', exactSplit);
  const a1Values = exactA1[0]?.values ?? [];
  const gOut = gSeries?.outliers ?? [];
  const kMatch = Math.min(a1Values.length, gOut.length);
  if (kMatch > 0) {
    let worst = 0;
    for (let k = 0; k < kMatch; k++) worst = Math.max(worst, Math.abs(a1Values[k]! - gOut[k]!) / Math.abs(gOut[k]!));
    fitRows.push({
      claim: 'c',
      name: `${title}: max_k |λ_k(A1) − λ_k(G)| / λ_k(G), k ≤ ${kMatch} [${exactSplit}, ${snapText}]`,
      value: worst,
      note: 'A1 exact (Gram) vs G top-k (Lanczos)',
    });
  }
  // the C − 1 structure of A1 (issue 12 item 6) at every checkpoint and split: λ_C / λ_{C−1} of its exact spectrum
  for (const e of exactAll.filter((x) => x.piece === 'a1' && x.values.length >= 2)) {
    const v = [...e.values].sort((a, b) => b - a);
    const C = v.length;
    fitRows.push({
      claim: 'c',
      name: `${title}: λ_${C}(A1) / λ_${C - 1}(A1) (exact) [${[e.epoch !== undefined ? `epoch ${e.epoch}` : '', variantLabel(e), e.split].filter((x) => x !== '').join(', ')}]`,
      value: v[C - 1]! / v[C - 2]!,
      note: `λ_${C - 1} = ${formatValue(v[C - 2]!)}, λ_${C} = ${formatValue(v[C - 1]!)}: ≪ 1 when the C class means span C − 1 directions`,
    });
  }
  if (exactA1.length > 0)
    figures.push({
      id: 'a1-vs-outliers',
      caption:
        exactA1.length > 0 && gOut.length > 0
          ? `A1's exact eigenvalues (from its C × C Gram matrix) against G's outliers (${exactSplit}, ${snapText}), by rank.`
          : `A1's exact eigenvalues (from its C × C Gram matrix) by rank (${exactSplit}, ${snapText}); no G spectrum was measured to compare.`,
      spec: eigenvalueComparisonSpec(exactA1, gSeries?.outliers, `${title} — A1 exact vs G outliers`),
    });

  // Figure 2, and the hierarchy as a score at every checkpoint and split
  const embeds = inCase(data.embeddings);
  const embed =
    embeds.find((e) => sameSnapshot(e, snap) && e.method === 'tsne' && e.split !== 'test') ??
    embeds.find((e) => sameSnapshot(e, snap) && e.method === 'tsne') ??
    embeds.find((e) => sameSnapshot(e, snap)) ??
    embeds[0];
  if (embed !== undefined)
    figures.push({
      id: 'embedding',
      caption: `Figure 2 style: ${embed.method === 'tsne' ? 't-SNE' : 'UMAP'} embedding of {g_c} ∪ {g_cc′} (${snapshotText({ ...embed, variant: variantLabel(embed) })}${embed.split !== undefined ? `, ${embed.split}` : ''}).`,
      spec: embeddingSpec(embed, `${title} — class and cross-class means`),
    });
  for (const other of embeds.filter((e) => e !== embed && sameSnapshot(e, snap))) {
    const sameSplit = other.split === embed?.split;
    figures.push({
      id: `embedding-${other.method}${sameSplit || other.split === undefined ? '' : `-${other.split}`}`,
      caption: sameSplit
        ? `The same points by ${other.method === 'tsne' ? 't-SNE' : 'UMAP'}.`
        : `${other.method === 'tsne' ? 't-SNE' : 'UMAP'} of the ${other.split ?? ''} samples' class and cross-class means.`,
      spec: embeddingSpec(other, `${title} — ${other.method}`),
    });
  }
  // scored per item before the seeds were grouped (renderReport: withHierarchyScores), so per seed
  const hierarchy = inCase(data.hierarchy);
  const hierarchySeeds = Math.max(0, ...hierarchy.map((r) => r.spread?.n ?? 0));
  if (hierarchy.length > 0)
    figures.push({
      id: 'hierarchy',
      caption:
        'The hierarchy as a score: of the C(C−1) cross-class means g_cc′, the fraction whose nearest class mean is their own g_c ' +
        '(strictly; math.md §3), in the original gradient space and in each 2-D embedding, at every checkpoint and split; chance is 1/C.' +
        (hierarchySeeds > 1
          ? ` Each of the n = ${hierarchySeeds} seeds scored on its own (its gradients, its embeddings), then the mean fraction ± sd across the seeds (n).`
          : ''),
      html: hierarchyTable(hierarchy),
    });

  // Spectra no panel above drew: each contributes its own density (band, outliers), train | test side by side
  const rest = at.filter((s) => !used.has(s) && !(PIECES as readonly string[]).includes(s.operator));
  for (const op of [...new Set(rest.map((s) => s.operator))]) {
    const ss = rest
      .filter((s) => s.operator === op)
      .sort((a, b) => a.split.localeCompare(b.split))
      .reverse();
    const f = spectrumPanelsSpec(ss, title, operatorLabel(op));
    figures.push({
      id: `spectrum-${op}`,
      caption: `Spectrum of ${operatorLabel(op)} (${ss.map((s) => s.split).join(', ')}; ${snapText})${ss.some((s) => (s.outliers?.length ?? 0) > 0) ? ', top-k eigenvalues marked ▼' : ''}. ${f.notes.join(' ')}`,
      spec: f.spec,
    });
  }

  // Dynamics: small multiples, one column per epoch (sequential colours), a row per variant
  const dyn = (ops: readonly string[]) => spectra.filter((s) => ops.includes(s.operator) && s.split === 'train');
  const epochsOf = (xs: readonly SeriesTags[]) => new Set(xs.map((s) => s.epoch));
  const dynHess = dyn(['hessian']);
  if (epochsOf(dynHess).size > 1) {
    const f = dynamicsSpectraSpec(dynHess, `${title} — train Hessian across epochs`);
    figures.push({
      id: 'dynamics-hessian',
      caption: `Dynamics: the train Hessian at each checkpoint, a panel per epoch (colour dark → light with the epoch)${f.rows > 1 ? ', a row per ' + (variantTitle(dynHess) ?? 'variant') : ''}; each panel's own x range and kernel width (in its title). ${f.notes.join(' ')}`,
      spec: f.spec,
    });
  }
  for (const [id, ops, what] of [
    ['dynamics-g-vs-h', ['ggn', 'residual'], 'G vs H (train): where the upper tail of the bulk lives'],
    ['dynamics-b1-b2', ['b1', 'b2'], 'the two bulks B1 (exact eigenvalues, stems) and B2 (train)'],
  ] as const) {
    const ss = dyn(ops);
    const exact = (ops as readonly string[]).includes('b1')
      ? exactAll.filter((e) => e.piece === 'b1' && e.split === 'train')
      : [];
    if (epochsOf([...ss, ...exact]).size < 2 || ss.length < 2) continue;
    const f = dynamicsGridSpec(ss, exact, `${title} — ${ops.map(operatorLabel).join(' vs ')} across epochs`);
    figures.push({
      id,
      caption: `Dynamics: ${what}, a panel per epoch${f.rows > 1 ? ' and ' + (variantTitle(ss) ?? 'variant') : ''}; the curves of a panel share one kernel width (in its title). ${f.notes.join(' ')}`,
      spec: f.spec,
    });
  }
  const allScalars = [...inCase(data.scalars), ...derivedScalars(spectra)];
  const scalars = allScalars.filter((p) =>
    allScalars.some((q) => q.name === p.name && q.split === p.split && q.epoch !== p.epoch),
  );
  if (scalars.length > 1)
    figures.push({
      id: 'dynamics-scalars',
      caption: `Dynamics: top eigenvalues and traces measured at several checkpoints, against epoch + 1 on a log axis (values too, in every panel whose values are all positive)${variantTitle(scalars) !== null ? `, a line per ${variantTitle(scalars)}` : ''}; those measured once are in the table of numbers.`,
      spec: scalarsSpec(scalars, `${title} — numbers across epochs`),
    });
  const training = inCase(data.training);
  if (training.length > 0)
    figures.push({
      id: 'training',
      caption: `Training curves: loss and accuracy on train and test${variantTitle(training) !== null ? `, dashes by ${variantTitle(training)}` : ''}.`,
      spec: trainingSpec(training, `${title} — training`),
    });
  const seeds = seedCount([...spectra, ...scalars, ...training]);
  for (const f of figures)
    if (f.spec !== undefined) f.caption += seedCaption(f.id, Math.max(seeds, embed?.ofSeeds ?? 0), embed?.seed);
  return { title, figures };
}

/**
 * `data` with every embedding's hierarchy score added to its gradient-space scores (from the
 * decompositions): computed before the seeds are grouped, so each seed's embedding is scored (the
 * grouping keeps one seed's embedding, but averages the scores of all: seedGroups.ts).
 */
function withHierarchyScores(data: ReportData): ReportData {
  if (data.embeddings === undefined || data.embeddings.length === 0) return data;
  return { ...data, hierarchy: hierarchyRows(data.hierarchy ?? [], data.embeddings) };
}

/** Gradient-space scores (from the decompositions) and embedding scores (computed here), by snapshot and split. */
function hierarchyRows(given: readonly HierarchyScoreRow[], embeds: readonly EmbeddingData[]): HierarchyScoreRow[] {
  const rows = [...given];
  for (const e of embeds) {
    const s = embeddingHierarchyScore(e.points);
    const { method, points: _p, split, ...tags } = e;
    rows.push({ ...tags, ...(split !== undefined && { split }), space: method, hits: s.hits, total: s.total, chance: s.chance });
  }
  return rows;
}

function hierarchyTable(rows: readonly HierarchyScoreRow[]): string {
  const key = (r: HierarchyScoreRow) => `${variantLabel(r)}|${r.epoch ?? ''}|${r.split ?? ''}`;
  const groups = new Map<string, HierarchyScoreRow[]>();
  for (const r of [...rows].sort(
    (a, b) =>
      variantLabel(a).localeCompare(variantLabel(b), 'en', { numeric: true }) ||
      (a.epoch ?? 0) - (b.epoch ?? 0) ||
      (a.split ?? '').localeCompare(b.split ?? '') * -1,
  ))
    groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const spaces = (['gradients', 'tsne', 'umap'] as const).filter((s) => rows.some((r) => r.space === s));
  const name = { gradients: 'gradient space', tsne: 't-SNE', umap: 'UMAP' } as const;
  const vt = variantTitle(rows);
  const cell = (r: HierarchyScoreRow | undefined): string =>
    r === undefined
      ? '<td class="num">—</td>'
      : r.spread !== undefined
        ? `<td class="num" data-space="${r.space}" data-hits="${r.hits}" data-total="${r.total}" data-seeds="${r.spread.n}">${formatValue(r.hits)}/${r.total} = ${(r.hits / r.total).toFixed(2)} ± ${r.spread.sd.toFixed(2)} (n = ${r.spread.n})</td>`
        : `<td class="num" data-space="${r.space}" data-hits="${r.hits}" data-total="${r.total}">${r.hits}/${r.total} = ${(r.hits / r.total).toFixed(2)}</td>`;
  const body = [...groups.values()]
    .map((g) => {
      const r0 = g[0]!;
      return `<tr>${vt !== null ? `<td>${esc(variantLabel(r0))}</td>` : ''}<td class="num">${r0.epoch ?? '—'}</td><td>${esc(r0.split ?? '—')}</td>${spaces
        .map((s) => cell(g.find((r) => r.space === s)))
        .join('')}<td class="num">${formatValue(r0.chance)}</td></tr>`;
    })
    .join('');
  return `<table class="hierarchy"><thead><tr>${vt !== null ? `<th>${esc(vt)}</th>` : ''}<th>epoch</th><th>split</th>${spaces
    .map((s) => `<th>nearest own g_c: ${name[s]}</th>`)
    .join('')}<th>chance 1/C</th></tr></thead><tbody>${body}</tbody></table>`;
}

/** λ_max and traces of every spectrum, as dynamics scalars (added to the explicit ones). */
function derivedScalars(spectra: readonly SpectrumSeries[]): ScalarPoint[] {
  const out: ScalarPoint[] = [];
  for (const s of spectra) {
    if (!isCurvatureKind(s.operator)) continue;
    const tags = {
      split: s.split,
      ...(s.epoch !== undefined && { epoch: s.epoch }),
      ...(s.samplesPerClass !== undefined && { samplesPerClass: s.samplesPerClass }),
      ...(s.axes !== undefined && { axes: s.axes }),
      ...(s.run !== undefined && { run: s.run }),
    };
    const n = s.seedBand?.n;
    const sd = (x: number | undefined): { spread?: { n: number; sd: number } } =>
      n !== undefined && x !== undefined ? { spread: { n, sd: x } } : {};
    if (s.outliers !== undefined && s.outliers.length > 0)
      out.push({ name: `λ_max(${operatorLabel(s.operator)})`, value: s.outliers[0]!, ...tags, ...sd(s.seedBand?.lambdaMaxSd) });
    if (s.trace !== undefined)
      out.push({ name: `tr(${operatorLabel(s.operator)})`, value: s.trace, ...tags, ...sd(s.seedBand?.traceSd) });
  }
  return out;
}

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;margin:0 auto;max-width:1400px;padding:1.5em 2em;color:#222;background:#fafafa}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.3em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.meta{color:#555;font-size:.9em}.meta code,pre{background:#eee;padding:.1em .3em;border-radius:3px}
pre{padding:.6em;overflow-x:auto}
.figures{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:4px;padding:.6em;max-width:100%;overflow-x:auto}
figure svg{display:block;max-width:100%;height:auto}
figcaption{font-size:.85em;color:#444;margin-top:.4em;max-width:48em}
.missing{color:#8a6d00;font-style:italic;padding:1em 0}
table{border-collapse:collapse;font-size:.9em;background:#fff}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#eee}
nav ul{columns:2;font-size:.9em}
.compare{display:grid;gap:1.2em;margin-bottom:1.2em;align-items:start}
table.hierarchy td.num{white-space:nowrap}
`;

/** Options of {@link renderReport}. */
export interface RenderReportOptions {
  /** Called with every figure drawn (its standalone SVG), in report order: `report --figures DIR`. */
  readonly onFigure?: (f: RenderedFigure) => void;
}

/** The HTML report of a run (see the module comment). Async because Vega renders asynchronously. */
export async function renderReport(input: ReportData, options: RenderReportOptions = {}): Promise<string> {
  const raw = withHierarchyScores(input);
  const data = groupSeeds(raw);
  const caseKeys = new Map<string, Case>();
  for (const list of [data.spectra, data.exactEigenvalues, data.embeddings, data.training, data.scalars, data.hierarchy]) {
    for (const x of list ?? []) {
      const c = caseOf(x);
      if (!caseKeys.has(c.key)) caseKeys.set(c.key, c);
    }
  }
  const fitRows: NumberRow[] = [];
  const sections: string[] = [];
  let figNo = 0;
  const cases = [...caseKeys.values()];
  const toc: string[] = [];
  // With seeds, the numbers derived here (fits, A1 vs G) are computed per seed, then averaged like the others.
  const seeds = seedsOf(raw);
  const figuresOf = (c: Case): { title: string; figures: Figure[] } => {
    const out = caseFigures(data, c, seeds.length > 0 ? [] : fitRows);
    if (seeds.length > 0)
      fitRows.push(
        ...averagedRows(
          seeds.map((seed) => {
            const rows: NumberRow[] = [];
            caseFigures(onlySeed(raw, seed), c, rows);
            return { seed, rows };
          }),
        ),
      );
    return out;
  };
  const render = async (f: Figure, fid: string): Promise<string> => {
    figNo++;
    const body = f.spec !== undefined ? await renderVegaLiteSvg(f.spec, `f${figNo}`) : (f.html ?? '');
    if (f.spec !== undefined) options.onFigure?.({ number: figNo, id: fid, caption: f.caption, svg: body });
    return `<figure id="${fid}" data-figure="${esc(f.id)}" data-status="rendered">${body}<figcaption><b>Fig. ${figNo}.</b> ${esc(f.caption)}</figcaption></figure>`;
  };
  if (cases.some((c) => c.run !== undefined)) {
    // runs compared: per (dataset, model), each figure of every run side by side, a column per run
    const groups = new Map<string, Case[]>();
    for (const c of cases) groups.set(`${c.dataset}/${c.model}`, [...(groups.get(`${c.dataset}/${c.model}`) ?? []), c]);
    for (const [gi, [key, cs]] of [...groups.entries()].entries()) {
      const runs = cs.map((c) => ({ c, figures: figuresOf(c).figures }));
      const ids = [...new Set(runs.flatMap((r) => r.figures.map((f) => f.id)))];
      const rows: string[] = [];
      // first, each spectrum the runs share (operator, split at each run's main snapshot) overlaid at one kernel width
      const overlays: string[] = [];
      const mains = cs.map((c) => {
        const ss = (data.spectra ?? []).filter((x) => caseOf(x).key === c.key);
        const snap = primarySnapshot(ss);
        return ss.filter((x) => sameSnapshot(x, snap));
      });
      const shared = [...new Set(mains.flatMap((ss) => ss.map((x) => `${x.operator}|${x.split}`)))].filter((k) =>
        mains.every((ss) => ss.some((x) => `${x.operator}|${x.split}` === k)),
      );
      for (const k of shared) {
        const [op, split] = k.split('|') as [string, string];
        const curves = mains.map((ss) => ss.find((x) => `${x.operator}|${x.split}` === k)!);
        const f = runOverlaySpec(
          curves,
          `${key.replace('/', ' · ')} — ${split} ${operatorLabel(op)}: ${cs.map((c) => c.run).join(' vs ')}`,
        );
        overlays.push(
          await render(
            {
              id: `compare-${op}-${split}`,
              caption: `${operatorLabel(op)} (${split}) of each run overlaid, a colour per run. ${f.notes.join(' ')}`,
              spec: f.spec,
            },
            `g${gi}-compare-${op}-${split}`,
          ),
        );
      }
      if (overlays.length > 0) rows.push(`<div class="figures" data-figure-row="overlays">${overlays.join('\n')}</div>`);
      for (const id of ids) {
        const cells: string[] = [];
        for (const [ri, r] of runs.entries()) {
          const f = r.figures.find((x) => x.id === id);
          cells.push(
            f !== undefined
              ? `<div class="cell" data-run="${esc(r.c.run ?? '')}">${await render(f, `g${gi}-r${ri}-${id}`)}</div>`
              : `<div class="cell" data-run="${esc(r.c.run ?? '')}"></div>`,
          );
        }
        rows.push(
          `<div class="compare" data-figure-row="${esc(id)}" style="grid-template-columns:repeat(${runs.length},1fr)">${cells.join('')}</div>`,
        );
      }
      const title = `${key.replace('/', ' · ')}: ${cs.map((c) => c.run).join(' vs ')}`;
      toc.push(`<li><a href="#case-${gi}">${esc(title)}</a></li>`);
      sections.push(`<section id="case-${gi}" data-compare="${cs.length}"><h2>${esc(title)}</h2>${rows.join('\n')}</section>`);
    }
  } else
    for (const [ci, c] of cases.entries()) {
      const { title, figures } = figuresOf(c);
      const parts: string[] = [];
      for (const f of figures) parts.push(await render(f, `c${ci}-${f.id}`));
      toc.push(`<li><a href="#case-${ci}">${esc(title)}</a></li>`);
      sections.push(`<section id="case-${ci}"><h2>${esc(title)}</h2><div class="figures">${parts.join('\n')}</div></section>`);
    }
  if (cases.length === 0) {
    sections.push(
      '<section><h2>Figures</h2><p class="missing">This run has no spectra, eigenvalues, embeddings, training points or scalars: there is nothing to draw.</p></section>',
    );
  }
  // grouped by claim (a … g), rows without a claim last; stable within a claim
  const rows = [...(data.numbers ?? []), ...fitRows]
    .map((r, i) => ({ r, i }))
    .sort((x, y) => (x.r.claim ?? '~').localeCompare(y.r.claim ?? '~') || x.i - y.i)
    .map((x) => x.r);
  const table =
    rows.length > 0
      ? `<table><thead><tr><th>claim</th><th>quantity</th><th>value</th><th>note</th></tr></thead><tbody>${rows
          .map(
            (r) =>
              `<tr><td>${esc(r.claim ?? '')}</td><td>${esc(r.name)}</td><td class="num">${esc(r.spread !== undefined && typeof r.value === 'number' ? formatSpread(r.value, r.spread, formatValue) : formatValue(r.value))}</td><td>${esc(r.note ?? '')}</td></tr>`,
          )
          .join('')}</tbody></table>`
      : '<p class="missing">No numbers recorded for this run.</p>';
  const meta: string[] = [];
  if (data.runId !== undefined) meta.push(`run <code>${esc(data.runId)}</code>`);
  if (data.pipeline !== undefined) meta.push(`pipeline <code>${esc(data.pipeline)}</code>`);
  if (data.createdAt !== undefined) meta.push(esc(data.createdAt));
  const reproduce =
    data.reproduce !== undefined && data.reproduce.length > 0
      ? `<p class="meta">Reproduce:</p><pre>${esc(data.reproduce.join('\n'))}</pre>`
      : '';
  const notes = (data.notes ?? []).map((n) => `<p>${esc(n)}</p>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(data.title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(data.title)}</h1><p class="meta">${meta.join(' · ')}</p>${reproduce}${notes}
${cases.length > 1 ? `<nav><ul>${toc.join('')}<li><a href="#numbers">Numbers</a></li></ul></nav>` : ''}</header>
${sections.join('\n')}
${validationPanelHtml(data.validation)}
<section id="numbers"><h2>Numbers behind the claims</h2>${table}</section>
<footer class="meta"><p>Generated by specpipe. Densities are SLQ estimates (specpipe's docs/math.md §4.2); the pieces A1, A2, B1, B2 follow docs/math.md §3.</p></footer>
</body></html>
`;
}
