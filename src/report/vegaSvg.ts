import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A Vega-Lite specification as plain JSON (built by `reportSpecs.ts`). */
export type VegaLiteSpec = Record<string, unknown>;

/**
 * Renders a Vega-Lite spec to an SVG string in Node, headless (vega-lite → vega → View.toSVG with
 * renderer "none"; no browser, no canvas). Element ids are prefixed with `idPrefix` so that several
 * SVGs inlined in one HTML page keep their own clip paths and gradients.
 */
export async function renderVegaLiteSvg(spec: VegaLiteSpec, idPrefix: string): Promise<string> {
  const vgSpec = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    return prefixSvgIds(svg, idPrefix);
  } finally {
    view.finalize();
  }
}

/** id="x" → id="p-x", url(#x) → url(#p-x), href="#x" → href="#p-x". */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}
