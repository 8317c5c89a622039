/**
 * `specpipe report --figures DIR` (issue 15 item 4): every figure of the report written as SVG and PNG,
 * in report order, with an index — the same drawings the HTML inlines, the PNGs real images of their size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { reportCommand } from '../../src/cli/commands/report.js';
import { syntheticReportData } from './syntheticReportData.js';

test('report --figures DIR writes each rendered figure as SVG and PNG with figures.json, matching the HTML', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'specpipe-figures-'));
  const dataPath = join(dir, 'data.json');
  const htmlPath = join(dir, 'report.html');
  const figDir = join(dir, 'figs');
  writeFileSync(dataPath, JSON.stringify(syntheticReportData()));
  assert.equal(await reportCommand(['--data', dataPath, '--out', htmlPath, '--figures', figDir]), 0);
  const html = readFileSync(htmlPath, 'utf8');
  // the figures the HTML draws as SVG, in order: element id and caption
  const drawn = [
    ...html.matchAll(
      /<figure id="([^"]+)" data-figure="[^"]*" data-status="rendered"><svg[\s\S]*?<figcaption><b>Fig\. (\d+)\.<\/b> ([^<]*)<\/figcaption>/g,
    ),
  ].map((m) => ({ id: m[1]!, number: Number(m[2]), caption: m[3]! }));
  assert.ok(drawn.length >= 5, `synthetic data draws several figures (${drawn.length})`);
  const index = JSON.parse(readFileSync(join(figDir, 'figures.json'), 'utf8')) as {
    number: number;
    id: string;
    caption: string;
    svg: string;
    png: string;
  }[];
  assert.deepEqual(
    index.map((f) => f.id),
    drawn.map((f) => f.id),
  );
  assert.deepEqual(
    index.map((f) => f.number),
    drawn.map((f) => f.number),
  );
  // captions: the HTML escapes & < > "; compare unescaped
  const unescape = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&');
  assert.deepEqual(
    index.map((f) => f.caption),
    drawn.map((f) => unescape(f.caption)),
  );
  assert.equal(readdirSync(figDir).length, 2 * index.length + 1, 'an SVG and a PNG per figure, and the index');
  for (const f of index) {
    const svg = readFileSync(join(figDir, f.svg), 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${f.svg} is a standalone SVG`);
    assert.ok(html.includes(svg), `${f.svg} is the drawing the HTML inlines`);
    const png = readFileSync(join(figDir, f.png));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${f.png} is a PNG`);
    const meta = await sharp(png).metadata();
    const width = Number(/width="([\d.]+)"/.exec(svg)?.[1]);
    assert.equal(meta.width, Math.round(width * 2), `${f.png}: twice the SVG's width (144 dpi)`);
    const stats = await sharp(png).stats();
    assert.ok(
      stats.channels.some((c) => c.min < 128),
      `${f.png} has dark pixels (not blank)`,
    );
  }
});
