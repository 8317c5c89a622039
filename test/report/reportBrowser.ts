/**
 * Opens a report HTML file in headless Chromium (Debian's /usr/bin/chromium through playwright-core)
 * and reads back what rendered: console errors and, per <figure>, its SVG and marks. Keeps a
 * full-page screenshot beside the caller's temp dir.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

export interface RenderedFigure {
  readonly id: string | null;
  /** id of the enclosing <section> (one per dataset · model case). */
  readonly section: string;
  readonly status: string | null;
  readonly svgs: number;
  readonly markGroups: number;
  readonly markItems: number;
  /** Symbols drawn by point marks (the embedding's dots). */
  readonly symbols: number;
  readonly width: number;
  readonly missingText: string;
}

export async function renderInChromium(
  htmlPath: string,
  screenshotPath: string,
): Promise<{ errors: string[]; figures: RenderedFigure[] }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${htmlPath}`);
    const figures = await page.$$eval('figure', (fs) =>
      fs.map((f) => ({
        id: f.getAttribute('data-figure'),
        section: f.closest('section')?.id ?? '',
        status: f.getAttribute('data-status'),
        svgs: f.querySelectorAll('svg').length,
        markGroups: f.querySelectorAll('svg g.role-mark').length,
        markItems: f.querySelectorAll(
          'svg g.role-mark > path, svg g.role-mark > line, svg g.role-mark > text, svg g.role-mark > g',
        ).length,
        symbols: f.querySelectorAll('svg g.mark-symbol.role-mark > path').length,
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
        missingText: f.querySelector('.missing')?.textContent ?? '',
      })),
    );
    await page.screenshot({ path: screenshotPath, fullPage: true });
    return { errors, figures };
  } finally {
    await browser.close();
  }
}
