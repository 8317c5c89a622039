import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../nn/network.js';
import type { LossKind } from '../nn/loss.js';
import type { Split } from '../data/dataset.js';
import type { BackendChoice } from '../backend/backend.js';
import { BatchCurvature } from './batchCurvature.js';
import { accumulateOverSplit, type ProductRequest } from './productRequest.js';
import { flattenToFloat32 } from './flatParameters.js';
import { moduleExtension, type NetworkBuilderRef } from './networkBuilder.js';
import { registerSecondOrderGradients } from './secondOrderGradients.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Runs full-data products (sums over every sample of a split) either in this thread or split
 * across worker threads. Batches are fixed globally (samples [kB, (k+1)B)), each worker takes a
 * contiguous run of whole batches, and partial sums are added in worker order — so each
 * batch's float32 result is the same for any worker count and totals differ only by float64
 * rounding.
 */
export interface ProductEngine {
  readonly size: number;
  readonly samples: number;
  readonly workers: number;
  run(request: ProductRequest): Promise<Float64Array[]>;
  /** Batch-level product evaluations so far, over all threads (the matrix-free spy). */
  evaluations(): Promise<number>;
  close(): Promise<void>;
}

export interface EngineSetup {
  readonly network: Network;
  readonly params: readonly tf.Tensor[];
  readonly buffers: readonly tf.Tensor[];
  readonly data: Split;
  readonly loss: LossKind;
  readonly batchSize: number;
}

export class LocalProductEngine implements ProductEngine {
  readonly size: number;
  readonly samples: number;
  readonly workers = 0;
  readonly #curvature: BatchCurvature;
  readonly #setup: EngineSetup;

  constructor(setup: EngineSetup) {
    registerSecondOrderGradients();
    this.#setup = setup;
    this.#curvature = new BatchCurvature(setup.network, setup.params, setup.buffers, setup.loss);
    this.size = this.#curvature.size;
    this.samples = setup.data.shape[0];
  }

  async run(request: ProductRequest): Promise<Float64Array[]> {
    const s = this.#setup;
    return accumulateOverSplit(this.#curvature, s.network.params, s.data, s.batchSize, s.network.spec.classes, request);
  }

  async evaluations(): Promise<number> {
    return this.#curvature.evaluations;
  }

  async close(): Promise<void> {}
}

/** What a product worker is started with (structured-cloned). */
export interface WorkerInit {
  readonly builder: NetworkBuilderRef;
  readonly spec: Network['spec'];
  readonly params: Float32Array;
  readonly buffers: Float32Array[];
  readonly data: Split;
  readonly loss: LossKind;
  readonly batchSize: number;
  readonly backend: BackendChoice;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: Float64Array[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

export class WorkerProductEngine implements ProductEngine {
  readonly size: number;
  readonly samples: number;
  readonly workers: number;
  readonly #threads: Worker[];
  /** Sample range [start, end) of each worker. */
  readonly #ranges: [number, number][];
  readonly #classes: number;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: Float64Array[]) => void; reject: (e: Error) => void }>();

  private constructor(threads: Worker[], ranges: [number, number][], size: number, samples: number, classes: number) {
    this.#threads = threads;
    this.#ranges = ranges;
    this.size = size;
    this.samples = samples;
    this.workers = threads.length;
    this.#classes = classes;
    for (const t of threads) {
      t.on('message', (m: WorkerReply) => {
        const p = this.#pending.get(m.id);
        if (!p) return;
        this.#pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(`curvature worker: ${m.error}`));
      });
      t.on('error', (e) => {
        for (const p of this.#pending.values()) p.reject(e);
        this.#pending.clear();
      });
    }
  }

  /** Starts `workers` threads, each holding its share of whole batches of `setup.data`. */
  static async start(
    setup: EngineSetup,
    workers: number,
    builder: NetworkBuilderRef,
    backend: BackendChoice,
  ): Promise<WorkerProductEngine> {
    if (!Number.isInteger(workers) || workers < 1) {
      throw new SpecpipeError('workers', `curvature workers must be an integer ≥ 1, received ${workers}`);
    }
    const n = setup.data.shape[0];
    const nb = Math.ceil(n / setup.batchSize);
    const w = Math.max(1, Math.min(workers, nb));
    const [, c, h, wd] = setup.data.shape;
    const d = c * h * wd;
    const params = flattenToFloat32(setup.params);
    const buffers = setup.buffers.map((b) => b.dataSync().slice() as Float32Array);
    const ranges: [number, number][] = [];
    const threads: Worker[] = [];
    const url = new URL(`./productWorker${moduleExtension()}`, import.meta.url);
    const ready: Promise<void>[] = [];
    for (let k = 0; k < w; k++) {
      const start = Math.min(n, Math.floor((k * nb) / w) * setup.batchSize);
      const end = Math.min(n, Math.floor(((k + 1) * nb) / w) * setup.batchSize);
      ranges.push([start, end]);
      const data: Split = {
        images: setup.data.images.slice(start * d, end * d),
        shape: [end - start, c, h, wd],
        labels: setup.data.labels.slice(start, end),
      };
      const init: WorkerInit = {
        builder,
        spec: setup.network.spec,
        params,
        buffers,
        data,
        loss: setup.loss,
        batchSize: setup.batchSize,
        backend,
      };
      const t = startWorker(url, init);
      threads.push(t);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: { ready?: boolean; error?: string }): void => {
            if (m.ready) {
              t.off('message', onMessage);
              t.off('error', reject);
              resolve();
            } else if (m.error !== undefined) reject(new Error(`curvature worker failed to start: ${m.error}`));
          };
          t.on('message', onMessage);
          t.once('error', reject);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw e;
    }
    return new WorkerProductEngine(threads, ranges, params.length, n, setup.network.spec.classes);
  }

  #ask(k: number, message: { kind: 'request'; request: ProductRequest } | { kind: 'evaluations' }): Promise<Float64Array[]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#threads[k]!.postMessage({ id, ...message });
    });
  }

  async run(request: ProductRequest): Promise<Float64Array[]> {
    const c = this.#classes;
    const parts = await Promise.all(
      this.#ranges.map(([start, end], k) => {
        const r: ProductRequest =
          request.kind === 'cotangents'
            ? { kind: 'cotangents', cotangents: request.cotangents.map((u) => u.slice(start * c, end * c)) }
            : request;
        return this.#ask(k, { kind: 'request', request: r });
      }),
    );
    if (request.kind === 'logits') {
      const out = new Float64Array(this.samples * c);
      parts.forEach((p, k) => out.set(p[0]!, this.#ranges[k]![0] * c));
      return [out];
    }
    // Sum the workers' partial sums in worker order (fixed, independent of timing).
    const total = parts[0]!.map((a) => Float64Array.from(a));
    for (let k = 1; k < parts.length; k++) {
      parts[k]!.forEach((a, j) => {
        const t = total[j]!;
        for (let i = 0; i < a.length; i++) t[i]! += a[i]!;
      });
    }
    return total;
  }

  async evaluations(): Promise<number> {
    const counts = await Promise.all(this.#threads.map((_, k) => this.#ask(k, { kind: 'evaluations' })));
    return counts.reduce((s, c) => s + c[0]![0]!, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.terminate()));
  }
}

/**
 * Compiled (dist/): the worker's .js file. From sources under tsx (`node --import tsx --test`):
 * Node 20 does not apply --import loaders to a worker's entry, so a tiny bootstrap registers
 * tsx's ESM hooks in the worker first.
 */
function startWorker(url: URL, init: WorkerInit): Worker {
  if (moduleExtension() === '.js') return new Worker(url, { workerData: init });
  const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData: init, execArgv: [] });
}
