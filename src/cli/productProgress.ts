import type { ProductCounts } from '../linalg/spectrumMeasurement.js';

/**
 * Progress of `specpipe spectrum` on stderr, counted in the operator products the estimators really
 * call: the SLQ and Hutch++ products known before they start (knownProducts: Lanczos steps × start
 * vectors, the Hutch++ products), the top-k products counted as its restarts happen. The ETA is the
 * known products left over the rate of the last few seconds (from the first product on: the first
 * block pays the warm-up) — never a budget.
 */
export class ProductProgress {
  readonly #write: (text: string) => void;
  readonly #known: { readonly slq: number; readonly trace: number };
  readonly #live: boolean;
  readonly #clock: () => number;
  readonly #start: number;
  readonly #everyMs: number;
  #last = -Infinity;
  /**
   * Reports the rate is measured over: from the first product on (the first block of products pays the
   * warm-up), the last `windowMs` only (top-k beside SLQ early on makes the rate change as it goes).
   */
  #marks: { readonly at: number; readonly done: number }[] = [];
  readonly #windowMs = 5000;

  /** `live`: one line rewritten in place (a terminal); else a plain line at most every `everyMs`. */
  constructor(
    write: (text: string) => void,
    known: { readonly slq: number; readonly trace: number },
    options: { readonly live: boolean; readonly everyMs?: number; readonly clock?: () => number },
    readonly steps: { readonly lanczosSteps: number; readonly startVectors: number; readonly topK: boolean },
  ) {
    this.#write = write;
    this.#known = known;
    this.#live = options.live;
    this.#clock = options.clock ?? (() => performance.now());
    this.#start = this.#clock();
    this.#everyMs = options.everyMs ?? 1000;
  }

  /** Products known in advance. */
  get announced(): number {
    return this.#known.slq + this.#known.trace;
  }

  /** The line said before the first product. */
  announce(): void {
    const parts = [
      ...(this.#known.slq > 0
        ? [
            `SLQ ${this.steps.startVectors} start vectors × ${this.#known.slq / this.steps.startVectors} steps = ${this.#known.slq}`,
          ]
        : []),
      ...(this.#known.trace > 0 ? [`Hutch++ ${this.#known.trace}`] : []),
    ];
    this.#write(
      `products: ${this.announced} known in advance${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${this.steps.topK ? '; top-k counted as it goes' : ''}\n`,
    );
  }

  /** After each product: a progress line, at most every `everyMs` (live: in place). */
  update(done: number, counts: ProductCounts): void {
    const now = this.#clock();
    if (this.#marks.length === 0) this.#marks.push({ at: now, done });
    if (now - this.#last < this.#everyMs) return;
    this.#last = now;
    this.#marks.push({ at: now, done });
    while (this.#marks.length > 2 && now - this.#marks[1]!.at >= this.#windowMs) this.#marks.shift();
    const from = this.#marks[0]!;
    const seconds = (now - this.#start) / 1000;
    const left = this.announced - counts.slq - counts.trace;
    const rate = (done - from.done) / ((now - from.at) / 1000); // products per second over the window
    const eta = rate > 0 && Number.isFinite(rate) && left > 0 ? `, ETA ${(left / rate).toFixed(0)} s` : '';
    const topK = this.steps.topK ? ` + top-k ${counts.topK} so far` : '';
    const line = `products ${counts.slq + counts.trace}/${this.announced}${topK}, ${seconds.toFixed(0)} s${eta}`;
    this.#write(this.#live ? `\r\x1b[K${line}` : `${line}\n`);
  }

  /** The closing line: what was called, by phase. */
  finish(done: number, counts: ProductCounts): void {
    if (this.#live) this.#write('\r\x1b[K');
    this.#write(
      `products: ${done} called (SLQ ${counts.slq}, Hutch++ ${counts.trace}, top-k ${counts.topK}) in ${((this.#clock() - this.#start) / 1000).toFixed(1)} s\n`,
    );
  }
}
