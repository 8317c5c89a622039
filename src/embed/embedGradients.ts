import type { ClassGradients } from '../decompose/classGradients.js';
import { gradientPoints, type GradientPointKind, type GradientPointOptions } from './gradientPoints.js';
import { tsne, type TsneOptions } from './tsne.js';
import { umap, type UmapOptions } from './umap.js';

/** One embedded point of Papyan's Figure 2, JSON-able (the `embed/*` artifact and ReportData's input). */
export interface EmbeddedPoint {
  readonly kind: GradientPointKind;
  readonly c: number;
  readonly cp: number;
  /** "c" or "c–c'". */
  readonly label: string;
  readonly x: number;
  readonly y: number;
}

export interface GradientEmbedding {
  readonly method: 'tsne' | 'umap';
  readonly seed: number;
  /** Final KL(P‖Q) for t-SNE, null for UMAP. */
  readonly kl: number | null;
  readonly points: readonly EmbeddedPoint[];
}

export type EmbedMethodOptions = ({ readonly method: 'tsne' } & TsneOptions) | ({ readonly method: 'umap' } & UmapOptions);

/** 2-D embedding (stage `embed/tsne` or `embed/umap`) of {g_c} ∪ {g_cc'} from stored class gradients. */
export function embedClassGradients(cg: ClassGradients, options: EmbedMethodOptions & GradientPointOptions): GradientEmbedding {
  const set = gradientPoints(cg, options);
  const result = options.method === 'tsne' ? tsne(set.squaredDistances, options) : umap(set.squaredDistances, options);
  return {
    method: options.method,
    seed: options.seed,
    kl: result.kl,
    points: set.points.map((p, i) => ({ ...p, x: result.coordinates[2 * i]!, y: result.coordinates[2 * i + 1]! })),
  };
}
