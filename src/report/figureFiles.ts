import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { SpecpipeError } from '../util/errors.js';

/** One rendered figure of a report, as `renderReport` hands it to its `onFigure` hook. */
export interface RenderedFigure {
  /** Figure number in the report (Fig. N). */
  readonly number: number;
  /** The figure's element id in the report (unique: case and figure kind, e.g. "c0-figure1"). */
  readonly id: string;
  /** The caption, as printed under the figure. */
  readonly caption: string;
  /** The standalone SVG document. */
  readonly svg: string;
}

/** File names of a figure: fig01-c0-figure1.svg / .png (numbered so they sort like the report). */
export function figureFileStem(f: RenderedFigure): string {
  return `fig${String(f.number).padStart(2, '0')}-${f.id.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
}

/**
 * Writes every figure as SVG (the report's own vector drawing) and PNG (rasterised by sharp/librsvg at
 * `density` dpi; 144 = twice the SVG's CSS pixels), plus figures.json: number, id, caption and the two
 * file names of each, in report order. Returns the files written.
 */
export async function writeFigureFiles(dir: string, figures: readonly RenderedFigure[], density = 144): Promise<string[]> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new SpecpipeError('figures-dir', `--figures ${dir}: cannot create the directory (${(e as Error).message})`);
  }
  const { default: sharp } = await import('sharp');
  const written: string[] = [];
  const index: { number: number; id: string; caption: string; svg: string; png: string }[] = [];
  for (const f of figures) {
    const stem = figureFileStem(f);
    const svgPath = join(dir, `${stem}.svg`);
    const pngPath = join(dir, `${stem}.png`);
    writeFileAtomic(svgPath, f.svg);
    const png = await sharp(Buffer.from(f.svg), { density }).flatten({ background: '#ffffff' }).png().toBuffer();
    writeFileAtomic(pngPath, png);
    written.push(svgPath, pngPath);
    index.push({ number: f.number, id: f.id, caption: f.caption, svg: `${stem}.svg`, png: `${stem}.png` });
  }
  const indexPath = join(dir, 'figures.json');
  writeFileAtomic(indexPath, `${JSON.stringify(index, null, 2)}\n`);
  written.push(indexPath);
  return written;
}
