import type { ModelSpec, Network } from '../nn/network.js';

/**
 * How a worker thread rebuilds the network: the module URL and the name of an export
 * `(spec) => Network`. Default: `buildNetwork` of src/nn/build.ts. Tests and users with their
 * own models point it at their own module (its spec must survive structured cloning).
 */
export interface NetworkBuilderRef {
  readonly module: string;
  readonly exportName: string;
  /** What the builder is called with (default: `network.spec`). */
  readonly spec?: unknown;
}

export function defaultNetworkBuilder(): NetworkBuilderRef {
  return { module: new URL(`../nn/build${moduleExtension()}`, import.meta.url).href, exportName: 'buildNetwork' };
}

/** '.ts' when running from sources under a TypeScript loader (tsx), '.js' when compiled. */
export function moduleExtension(): string {
  return import.meta.url.endsWith('.ts') ? '.ts' : '.js';
}

export async function loadNetwork(ref: NetworkBuilderRef, spec: ModelSpec): Promise<Network> {
  const mod = (await import(ref.module)) as Record<string, unknown>;
  const build = mod[ref.exportName];
  if (typeof build !== 'function') {
    throw new Error(`network builder: module ${ref.module} has no function export "${ref.exportName}"`);
  }
  return (build as (s: unknown) => Network)(ref.spec ?? spec);
}
