import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassGradients } from '../../decompose/classGradients.js';
import type { DecompositionSummary } from '../../decompose/decomposition.js';
import type { PieceOperatorName } from '../../decompose/pieceOperators.js';
import type { LinearOperator } from '../../linalg/operator.js';
import type { ReportFragment } from '../../report/reportFragment.js';
import type { SeriesTags } from '../../report/reportData.js';
import { writeFileAtomic } from '../../util/atomicWrite.js';
import type { StageContext, UpstreamArtifact } from '../registry.js';
import { findArtifact, requireArtifact } from '../upstream.js';
import type { DecomposeParams } from './params.js';

/**
 * The artifact contract of `decompose/class-gradients`: class-gradients.arrow (the C² sums s_cc'
 * and P_cc'), decomposition.json (DecompositionSummary: exact spectra and traces of the low-rank
 * pieces, tr B2) and report-fragment.json.
 */
export const CLASS_GRADIENTS_FILE = 'class-gradients.arrow';
export const DECOMPOSITION_FILE = 'decomposition.json';

/** Writes the artifact's files into `outDir`. */
export async function writeDecompositionArtifact(
  outDir: string,
  cg: ClassGradients,
  s: DecompositionSummary,
  fragment: ReportFragment,
): Promise<void> {
  const { encodeClassGradients } = await import('../../decompose/classGradientsArrow.js');
  const { REPORT_FRAGMENT_FILE } = await import('../../report/reportFragment.js');
  writeFileAtomic(join(outDir, CLASS_GRADIENTS_FILE), encodeClassGradients(cg));
  writeFileSync(join(outDir, DECOMPOSITION_FILE), JSON.stringify(s, null, 1) + '\n');
  writeFileSync(join(outDir, REPORT_FRAGMENT_FILE), JSON.stringify(fragment) + '\n');
}

/** A decompose/class-gradients artifact as a downstream stage reads it. */
export interface DecompositionArtifact {
  readonly upstream: UpstreamArtifact;
  /** Its params, defaults filled: which split, checkpoint, classes and samples it measured. */
  readonly params: DecomposeParams;
  /** Samples the class gradients were summed over. */
  readonly samples: number;
  classGradients(): Promise<ClassGradients>;
  summary(): Promise<DecompositionSummary>;
  /** One of Papyan's pieces as an operator; b2 = G − A1 − A2 − B1 needs G over the same samples. */
  pieceOperator(name: PieceOperatorName, ggn?: LinearOperator): Promise<LinearOperator>;
  /** The report tags it wrote (dataset, model, epoch, samples per class), if its fragment has them. */
  seriesTags(): Promise<SeriesTags | undefined>;
}

function decompositionOf(upstream: UpstreamArtifact): DecompositionArtifact {
  const cgPath = join(upstream.dir, CLASS_GRADIENTS_FILE);
  return {
    upstream,
    params: upstream.params as unknown as DecomposeParams,
    samples: Number(upstream.manifest.metrics?.['samples'] ?? NaN),
    classGradients: async () => (await import('../../decompose/classGradientsArrow.js')).readClassGradients(cgPath),
    summary: async () => {
      const { readFileSync } = await import('node:fs');
      return JSON.parse(readFileSync(join(upstream.dir, DECOMPOSITION_FILE), 'utf8')) as DecompositionSummary;
    },
    pieceOperator: async (name, ggn) =>
      (await import('../../decompose/pieceOperators.js')).pieceOperatorFromFile(cgPath, name, ggn),
    seriesTags: async () => {
      const { readReportFragment, REPORT_FRAGMENT_FILE } = await import('../../report/reportFragment.js');
      const path = join(upstream.dir, REPORT_FRAGMENT_FILE);
      if (!existsSync(path)) return undefined;
      const e = readReportFragment(path).exactEigenvalues?.[0];
      if (e === undefined) return undefined;
      const { dataset, model, epoch, samplesPerClass } = e;
      return {
        ...(dataset !== undefined && { dataset }),
        ...(model !== undefined && { model }),
        ...(epoch !== undefined && { epoch }),
        ...(samplesPerClass !== undefined && { samplesPerClass }),
      };
    },
  };
}

/** The nearest decompose/class-gradients artifact upstream of a stage, or an error saying how to add it. */
export function decompositionArtifact(ctx: StageContext<unknown>, why: string): DecompositionArtifact {
  return decompositionOf(requireArtifact(ctx, 'decompose/class-gradients', why));
}

/** As decompositionArtifact, or undefined when there is none upstream. */
export function findDecompositionArtifact(ctx: StageContext<unknown>): DecompositionArtifact | undefined {
  const a = findArtifact(ctx, 'decompose/class-gradients');
  return a === undefined ? undefined : decompositionOf(a);
}
