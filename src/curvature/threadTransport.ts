import { Worker } from 'node:worker_threads';
import type { ShardInit, ShardQuestion, ShardReply } from './productShard.js';
import type { ShardConnection, ShardTransport } from './shardedProductEngine.js';
import { moduleExtension } from './networkBuilder.js';

/** One shard loaded in a worker thread (productShardMain.ts is its side of the protocol). */
export interface ShardThread {
  ask(question: ShardQuestion): Promise<Float64Array[]>;
  terminate(): Promise<void>;
}

/**
 * Starts a worker thread serving one shard; resolves once it loaded its backend, network and
 * samples. Compiled (dist/): the entry's .js file. From sources under tsx
 * (`node --import tsx --test`): Node 20 does not apply --import loaders to a worker's entry, so a
 * tiny bootstrap registers tsx's ESM hooks in the worker first.
 */
export async function startShardThread(init: ShardInit): Promise<ShardThread> {
  const url = new URL(`./productShardMain${moduleExtension()}`, import.meta.url);
  const thread =
    moduleExtension() === '.js'
      ? new Worker(url)
      : new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`, {
          eval: true,
          execArgv: [],
        });
  const loaded = new Promise<void>((resolve, reject) => {
    const done = (): void => {
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
    };
    const onMessage = (m: { ready?: boolean; startError?: string }): void => {
      if (m.ready === true) {
        done();
        resolve();
      } else if (m.startError !== undefined) {
        done();
        reject(new Error(`curvature worker failed to start: ${m.startError}`));
      }
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    const onExit = (code: number): void => {
      done();
      reject(new Error(`curvature worker exited (code ${code}) while loading`));
    };
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.on('exit', onExit);
  });
  thread.postMessage({ kind: 'init', init });
  try {
    await loaded;
  } catch (e) {
    await thread.terminate();
    throw e;
  }
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: Float64Array[]) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  thread.on('message', (m: ShardReply) => {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`curvature worker: ${m.error}`));
  });
  thread.on('error', failAll);
  thread.on('exit', (code) => failAll(new Error(`curvature worker exited (code ${code})`)));
  return {
    ask(question) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        thread.postMessage({ id, ...question });
      });
    },
    terminate: () => thread.terminate().then(() => undefined),
  };
}

/** Shards in worker threads of this process (one tfjs backend each). */
export const threadTransport: ShardTransport = {
  async open(shards): Promise<ShardConnection> {
    const started = await Promise.allSettled(shards.map((s) => startShardThread(s.init)));
    const threads = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw failed.reason;
    }
    return {
      answer: (requests) => Promise.all(threads.map((t, k) => t.ask({ kind: 'request', request: requests[k]! }))),
      evaluations: async () => {
        const counts = await Promise.all(threads.map((t) => t.ask({ kind: 'evaluations' })));
        return counts.reduce((s, c) => s + c[0]![0]!, 0);
      },
      close: async () => {
        await Promise.all(threads.map((t) => t.terminate()));
      },
    };
  },
};
