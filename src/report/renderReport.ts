import type { ReportData, SpectrumSeries, SeriesTags, NumberRow, ScalarPoint } from './reportData.js';
import { renderVegaLiteSvg, type VegaLiteSpec } from './vegaSvg.js';
import { CURVATURE_OPERATORS, isCurvatureKind } from '../curvature/operatorKind.js';
import {
  figure1Spec,
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
 * is a Vega-Lite spec rendered to SVG in Node and inlined. Panels without data render as a
 * `<figure data-status="missing">` saying what is missing, never as an error.
 *
 * Layout per (dataset, model): Figure 1 (train/test Hessian, outliers marked); attribution
 * (Hess vs G vs H; log-spectrum of H with power-law and semicircle fits); G's pieces (A1, A2, B1,
 * B2 densities; A1's exact eigenvalues vs G's outliers); Figure 2 (embedding); dynamics across
 * epochs and sample sizes; then training curves and the table of numbers.
 */

type Figure = { id: string; caption: string; spec?: VegaLiteSpec; missing?: string };

interface Case {
  readonly key: string;
  readonly dataset: string;
  readonly model: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function caseOf(t: { dataset?: string; model?: string }): Case {
  const dataset = t.dataset ?? '—';
  const model = t.model ?? '—';
  return { key: `${dataset}/${model}`, dataset, model };
}

/** The snapshot of the main panels: the largest sample size, then the latest epoch. */
function primarySnapshot(series: readonly SeriesTags[]): { epoch?: number; samplesPerClass?: number } {
  let best: SeriesTags | undefined;
  const rank = (t: SeriesTags): [number, number] => [t.samplesPerClass ?? -Infinity, t.epoch ?? -Infinity];
  for (const s of series) {
    if (best === undefined) best = s;
    else {
      const [a1, b1] = rank(s);
      const [a2, b2] = rank(best);
      if (a1 > a2 || (a1 === a2 && b1 > b2)) best = s;
    }
  }
  return best === undefined
    ? {}
    : {
        ...(best.epoch !== undefined && { epoch: best.epoch }),
        ...(best.samplesPerClass !== undefined && { samplesPerClass: best.samplesPerClass }),
      };
}

function sameSnapshot(t: SeriesTags, snap: { epoch?: number; samplesPerClass?: number }): boolean {
  return t.epoch === snap.epoch && t.samplesPerClass === snap.samplesPerClass;
}

function snapshotText(snap: { epoch?: number; samplesPerClass?: number }): string {
  const parts = [];
  if (snap.epoch !== undefined) parts.push(`epoch ${snap.epoch}`);
  if (snap.samplesPerClass !== undefined) parts.push(`${snap.samplesPerClass} samples/class`);
  return parts.length > 0 ? parts.join(', ') : 'single snapshot';
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}

function caseFigures(data: ReportData, c: Case, fitRows: NumberRow[]): { title: string; figures: Figure[] } {
  const inCase = <T extends { dataset?: string; model?: string }>(xs: readonly T[] | undefined): T[] =>
    (xs ?? []).filter((x) => caseOf(x).key === c.key);
  const spectra = inCase(data.spectra);
  const snap = primarySnapshot(spectra.length > 0 ? spectra : [...inCase(data.embeddings), ...inCase(data.exactEigenvalues)]);
  const at = spectra.filter((s) => sameSnapshot(s, snap));
  const find = (op: string, split: 'train' | 'test'): SpectrumSeries | undefined =>
    at.find((s) => s.operator === op && s.split === split);
  const title = `${c.dataset} · ${c.model}`;
  const snapText = snapshotText(snap);
  const figures: Figure[] = [];
  const missing = (id: string, caption: string, what: string): Figure => ({
    id,
    caption,
    missing: `No data for this panel: ${what}.`,
  });

  // Figure 1
  const hTrain = find('hessian', 'train');
  const hTest = find('hessian', 'test');
  figures.push(
    hTrain || hTest
      ? {
          id: 'figure1',
          caption: `Figure 1 style: train and test Hessian spectra (${snapText}), log density, outliers (top-k Lanczos eigenvalues) marked.`,
          spec: figure1Spec(hTrain, hTest, title),
        }
      : missing('figure1', 'Figure 1 style: train and test Hessian spectra.', 'no spectrum with operator "hessian"'),
  );

  // Attribution: Hess vs G vs H per split
  for (const split of ['train', 'test'] as const) {
    const ops = CURVATURE_OPERATORS.map((o) => find(o, split)).filter((s): s is SpectrumSeries => s !== undefined);
    figures.push(
      ops.length >= 2
        ? {
            id: `attribution-${split}`,
            caption: `Attribution (${split}, ${snapText}): Hess = G + H overlaid.`,
            spec: overlaySpec(ops, `${title} — ${split}: ${ops.map((s) => operatorLabel(s.operator)).join(' vs ')}`),
          }
        : missing(
            `attribution-${split}`,
            `Attribution (${split}): Hess vs G vs H.`,
            `need at least two of hessian/ggn/residual on ${split}, found ${ops.length}`,
          ),
    );
  }
  const hRes = find('residual', 'train') ?? find('residual', 'test');
  if (hRes !== undefined) {
    const fits = logSpectrumFits(hRes);
    fitRows.push(
      {
        claim: 'd',
        name: `${title}: power-law exponent α of H's log-spectrum [${hRes.split}]`,
        value: fits.powerLaw?.exponent ?? 'no fit',
      },
      { claim: 'd', name: `${title}: power-law fit R²(log ρ) [${hRes.split}]`, value: fits.powerLaw?.r2 ?? 'no fit' },
      { claim: 'd', name: `${title}: semicircle fit R²(log ρ) [${hRes.split}]`, value: fits.semicircle?.r2 ?? 'no fit' },
    );
  }
  figures.push(
    hRes !== undefined
      ? {
          id: 'log-spectrum-h',
          caption: `Log-spectrum of H (${hRes.split}, ${snapText}) with a power-law fit and a semicircle fit; R² of log density for both.`,
          spec: logSpectrumSpec(hRes, title),
        }
      : missing(
          'log-spectrum-h',
          'Log-spectrum of H with power-law and semicircle fits.',
          'no spectrum with operator "residual"',
        ),
  );

  // G's pieces
  const pieces = ['a1', 'a2', 'b1', 'b2']
    .map((o) => find(o, 'train') ?? find(o, 'test'))
    .filter((s): s is SpectrumSeries => s !== undefined);
  figures.push(
    pieces.length > 0
      ? {
          id: 'pieces',
          caption: `G's pieces (${pieces[0]!.split}, ${snapText}): A1 (class means), A2, B1 (cross-class), B2 (within-class, the bulk).`,
          spec: overlaySpec(pieces, `${title} — G = A1 + A2 + B1 + B2`),
        }
      : missing('pieces', "G's pieces A1, A2, B1, B2.", 'no spectrum with operator a1, a2, b1 or b2'),
  );
  const exact = inCase(data.exactEigenvalues).filter((e) => sameSnapshot(e, snap));
  const exactSplit = exact.find((e) => e.piece === 'a1')?.split ?? 'train';
  const exactA1 = exact.filter((e) => e.piece === 'a1' && e.split === exactSplit);
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
  figures.push(
    exactA1.length > 0 || (gSeries?.outliers?.length ?? 0) > 0
      ? {
          id: 'a1-vs-outliers',
          caption: `A1's exact eigenvalues (from its C × C Gram matrix) against G's outliers (${exactSplit}, ${snapText}).`,
          spec: eigenvalueComparisonSpec(exactA1, gSeries?.outliers, `${title} — A1 exact vs G outliers`),
        }
      : missing('a1-vs-outliers', "A1's exact eigenvalues vs G's outliers.", 'neither exact A1 eigenvalues nor G outliers'),
  );

  // Figure 2
  const embeds = inCase(data.embeddings);
  const embed =
    embeds.find((e) => sameSnapshot(e, snap) && e.method === 'tsne' && e.split !== 'test') ??
    embeds.find((e) => sameSnapshot(e, snap) && e.method === 'tsne') ??
    embeds.find((e) => sameSnapshot(e, snap)) ??
    embeds[0];
  figures.push(
    embed !== undefined
      ? {
          id: 'embedding',
          caption: `Figure 2 style: ${embed.method === 'tsne' ? 't-SNE' : 'UMAP'} embedding of {g_c} ∪ {g_cc′} (${snapshotText(embed)}).`,
          spec: embeddingSpec(embed, `${title} — class and cross-class means`),
        }
      : missing('embedding', 'Figure 2 style: embedding of {g_c} ∪ {g_cc′}.', 'no embedding'),
  );
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

  // Dynamics
  const snapshots = new Set(spectra.map((s) => `${s.epoch}|${s.samplesPerClass}`));
  const hessTrainAll = spectra.filter((s) => s.operator === 'hessian' && s.split === 'train');
  figures.push(
    snapshots.size > 1 && hessTrainAll.length > 1
      ? {
          id: 'dynamics-hessian',
          caption: 'Dynamics: the train Hessian spectrum across checkpoints (colour) and sample sizes (columns).',
          spec: dynamicsSpectraSpec(hessTrainAll, `${title} — train Hessian across epochs`),
        }
      : missing(
          'dynamics-hessian',
          'Dynamics: the Hessian across checkpoints and sample sizes.',
          'spectra of fewer than two checkpoints/sample sizes',
        ),
  );
  const gh = spectra.filter((s) => (s.operator === 'ggn' || s.operator === 'residual') && s.split === 'train');
  figures.push(
    snapshots.size > 1 && gh.length > 2
      ? {
          id: 'dynamics-g-vs-h',
          caption:
            'Dynamics: G vs H (train) per checkpoint (rows) and sample size (columns): where the upper tail of the bulk lives.',
          spec: dynamicsGridSpec(gh, `${title} — G vs H across epochs and sample sizes`),
        }
      : missing(
          'dynamics-g-vs-h',
          'Dynamics: G vs H across checkpoints and sample sizes.',
          'ggn/residual spectra of fewer than two snapshots',
        ),
  );
  const b12 = spectra.filter((s) => (s.operator === 'b1' || s.operator === 'b2') && s.split === 'train');
  figures.push(
    snapshots.size > 1 && b12.length > 2
      ? {
          id: 'dynamics-b1-b2',
          caption: 'Dynamics: the two bulks B1 and B2 (train) per checkpoint and sample size.',
          spec: dynamicsGridSpec(b12, `${title} — B1 vs B2 across epochs and sample sizes`),
        }
      : missing(
          'dynamics-b1-b2',
          'Dynamics: B1 vs B2 across checkpoints and sample sizes.',
          'b1/b2 spectra of fewer than two snapshots',
        ),
  );
  const scalars = [...inCase(data.scalars), ...derivedScalars(spectra)];
  figures.push(
    scalars.length > 1
      ? {
          id: 'dynamics-scalars',
          caption: 'Dynamics: top eigenvalues and traces across checkpoints, a line per sample size.',
          spec: scalarsSpec(scalars, `${title} — numbers across epochs`),
        }
      : missing('dynamics-scalars', 'Dynamics: numbers across checkpoints.', 'no scalars and no outliers/traces in the spectra'),
  );
  const training = inCase(data.training);
  figures.push(
    training.length > 0
      ? {
          id: 'training',
          caption: 'Training curves: loss and accuracy on train and test.',
          spec: trainingSpec(training, `${title} — training`),
        }
      : missing('training', 'Training curves.', 'no training points'),
  );
  const seeds = seedCount([...spectra, ...scalars, ...training]);
  for (const f of figures)
    if (f.spec !== undefined) f.caption += seedCaption(f.id, Math.max(seeds, embed?.ofSeeds ?? 0), embed?.seed);
  return { title, figures };
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
figure[data-status=missing]{background:#fff8e6;border-color:#e8c66a;min-width:20em}
.missing{color:#8a6d00;font-style:italic;padding:1em 0}
table{border-collapse:collapse;font-size:.9em;background:#fff}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#eee}
nav ul{columns:2;font-size:.9em}
`;

/** The HTML report of a run (see the module comment). Async because Vega renders asynchronously. */
export async function renderReport(raw: ReportData): Promise<string> {
  const data = groupSeeds(raw);
  const caseKeys = new Map<string, Case>();
  for (const list of [data.spectra, data.exactEigenvalues, data.embeddings, data.training, data.scalars]) {
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
  for (const [ci, c] of cases.entries()) {
    const seeds = seedsOf(raw);
    const { title, figures } = caseFigures(data, c, seeds.length > 0 ? [] : fitRows);
    // With seeds, the numbers derived here (fits, A1 vs G) are computed per seed, then averaged like the others.
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
    const parts: string[] = [];
    for (const f of figures) {
      figNo++;
      const fid = `c${ci}-${f.id}`;
      if (f.spec !== undefined) {
        const svg = await renderVegaLiteSvg(f.spec, `f${figNo}`);
        parts.push(
          `<figure id="${fid}" data-figure="${esc(f.id)}" data-status="rendered">${svg}<figcaption><b>Fig. ${figNo}.</b> ${esc(f.caption)}</figcaption></figure>`,
        );
      } else {
        parts.push(
          `<figure id="${fid}" data-figure="${esc(f.id)}" data-status="missing"><div class="missing">${esc(f.missing ?? 'No data.')}</div><figcaption><b>Fig. ${figNo}.</b> ${esc(f.caption)}</figcaption></figure>`,
        );
      }
    }
    toc.push(`<li><a href="#case-${ci}">${esc(title)}</a></li>`);
    sections.push(`<section id="case-${ci}"><h2>${esc(title)}</h2><div class="figures">${parts.join('\n')}</div></section>`);
  }
  if (cases.length === 0) {
    sections.push(
      '<section><h2>Figures</h2><div class="figures"><figure data-figure="none" data-status="missing"><div class="missing">No data for any figure: the report data has no spectra, eigenvalues, embeddings, training points or scalars.</div></figure></div></section>',
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
<section id="numbers"><h2>Numbers behind the claims</h2>${table}</section>
<footer class="meta"><p>Generated by specpipe. Densities are SLQ estimates (specpipe's docs/math.md §4.2); the pieces A1, A2, B1, B2 follow docs/math.md §3.</p></footer>
</body></html>
`;
}
