import type { ExactEigenvalues, SpectrumSeries } from './reportData.js';
import { densityPanel, type PanelStems } from './densityPanel.js';
import { OPERATOR_COLOR, operatorLabel, reportTop, PANEL_WIDTH, PANEL_HEIGHT } from './reportSpecs.js';
import type { VegaLiteSpec } from './vegaSvg.js';

/**
 * Panels built on densityPanel: one spectrum per split side by side (its band, its outliers), and
 * G's pieces with the low-rank ones as stems at their exact eigenvalues.
 */
export interface SpecWithNotes {
  readonly spec: VegaLiteSpec;
  readonly notes: readonly string[];
}

const SPLIT_COLOR = { train: '#1f77b4', test: '#ff7f0e' } as const;

/** One operator's spectra, a panel per split, each with its start-vector band and top-k outliers. */
export function spectrumPanelsSpec(series: readonly SpectrumSeries[], caseTitle: string, what: string): SpecWithNotes {
  const panels = series.map((s) => {
    const n = s.outliers?.length ?? 0;
    return densityPanel({
      title: `${caseTitle} — ${s.split} ${what}${n > 0 ? ` (top ${n} eigenvalues ▼)` : ''}`,
      curves: [{ label: s.split, series: s, color: SPLIT_COLOR[s.split] }],
      ...(s.outliers !== undefined && { outliers: s.outliers }),
      band: true,
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
    });
  });
  const notes = panels.length === 1 ? panels[0]!.notes : panels.map((p, i) => `${series[i]!.split}: ${p.notes.join(' ')}`);
  return {
    spec: reportTop({
      hconcat: panels.map((p) => p.spec),
      resolve: { scale: { x: 'independent', y: 'independent', color: 'independent' } },
    }),
    notes,
  };
}

/** Stems for the exact eigenvalues of the low-rank pieces (A1, A2, B1). */
export function pieceStems(exact: readonly ExactEigenvalues[]): PanelStems[] {
  return exact
    .filter((e) => e.piece !== 'a1+a2+b1')
    .map((e) => {
      const label = `${operatorLabel(e.piece)} exact`;
      return { label, color: OPERATOR_COLOR[operatorLabel(e.piece)] ?? '#7f7f7f', values: e.values };
    });
}

/** G = A1 + A2 + B1 + B2: the smoothed curves (B2, G, pieces without exact values) and the exact pieces as stems. */
export function piecesSpec(curves: readonly SpectrumSeries[], exact: readonly ExactEigenvalues[], title: string): SpecWithNotes {
  const stems = pieceStems(exact);
  if (curves.length === 0) {
    // no density to stand beside: one stem per eigenvalue on a log λ axis
    const rows = stems.flatMap((s) => s.values.filter((v) => v > 0).map((v) => ({ x: v, curve: s.label })));
    return {
      spec: reportTop({
        title,
        width: PANEL_WIDTH + 60,
        height: PANEL_HEIGHT,
        data: { values: rows },
        layer: [
          { mark: { type: 'rule', strokeWidth: 1.6 }, encoding: { y: { datum: 0 }, y2: { datum: 1 } } },
          { mark: { type: 'point', filled: true, size: 22 }, encoding: { y: { datum: 1 } } },
        ],
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: 'eigenvalue λ (log)', axis: { format: '.0e' } },
          color: {
            field: 'curve',
            type: 'nominal',
            title: null,
            scale: { domain: stems.map((s) => s.label), range: stems.map((s) => s.color) },
          },
        },
      }),
      notes: ['Stems: exact eigenvalues (Gram matrices), one per eigenvalue; no density was measured beside them.'],
    };
  }
  const p = densityPanel({
    title,
    curves: curves.map((s) => ({
      label: `${operatorLabel(s.operator)} (SLQ)`,
      series: s,
      color: OPERATOR_COLOR[operatorLabel(s.operator)] ?? '#7f7f7f',
    })),
    stems,
    width: PANEL_WIDTH + 60,
    height: PANEL_HEIGHT + 20,
    legendTitle: null,
  });
  return { spec: reportTop(p.spec), notes: p.notes };
}

const RUN_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/** One operator's spectrum from several runs overlaid at one kernel width, a colour per run (legend: run ids). */
export function runOverlaySpec(series: readonly SpectrumSeries[], title: string): SpecWithNotes {
  const p = densityPanel({
    title,
    curves: series.map((s, i) => ({ label: s.run ?? `run ${i + 1}`, series: s, color: RUN_COLORS[i % RUN_COLORS.length]! })),
    width: PANEL_WIDTH + 60,
    height: PANEL_HEIGHT + 20,
    legendTitle: 'run',
  });
  return { spec: reportTop(p.spec), notes: p.notes };
}
