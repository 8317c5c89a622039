/** Params of embed/tsne and embed/umap: the types generated from their schemas (defaults filled). */
export type { EmbedTsneParams } from '../../params/embed-tsne.generated.js';
export type { EmbedUmapParams } from '../../params/embed-umap.generated.js';
