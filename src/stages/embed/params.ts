/** Params of embed/tsne (schemas/stages/embed-tsne.schema.json; defaults filled). */
export interface EmbedTsneParams {
  perplexity?: number;
  iterations: number;
  learning_rate?: number;
  include_own: boolean;
}

/** Params of embed/umap (schemas/stages/embed-umap.schema.json; defaults filled). */
export interface EmbedUmapParams {
  n_neighbors?: number;
  min_dist: number;
  epochs: number;
  include_own: boolean;
}
