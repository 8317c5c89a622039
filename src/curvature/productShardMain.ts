import { parentPort } from 'node:worker_threads';
import { openProductShard, type ProductShard, type ShardInit, type ShardMessage } from './productShard.js';

/**
 * Entry of a shard that runs apart from its requester: a worker thread (threadTransport.ts, and the
 * Redis shard workers' threads) or a child process (processTransport.ts, child_process.fork with
 * advanced serialization, so typed arrays cross the IPC channel as they are). One protocol:
 *   parent → shard  { kind: 'init', init: ShardInit }    → { ready: true } | { startError }
 *                   { id, kind: 'request', request }     → ShardReply (float64 sums over its samples)
 *                   { id, kind: 'evaluations' }          → ShardReply ([count])
 *                   { kind: 'close' }                    → exits
 * A child process also exits when the parent closes the channel (the parent died), so no shard
 * outlives its engine.
 */
type ParentMessage = { readonly kind: 'init'; readonly init: ShardInit } | ShardMessage | { readonly kind: 'close' };

interface Port {
  onMessage(handler: (m: ParentMessage) => void): void;
  send(m: unknown, transfer?: ArrayBuffer[]): void;
}

const port: Port =
  parentPort !== null
    ? {
        onMessage: (h) => parentPort!.on('message', h),
        send: (m, transfer) => parentPort!.postMessage(m, transfer ?? []),
      }
    : {
        onMessage: (h) => process.on('message', h),
        send: (m) => {
          if (process.connected) process.send!(m);
        },
      };

if (parentPort === null) process.on('disconnect', () => process.exit(0));

let shard: ProductShard | undefined;

port.onMessage((m) => {
  if (m.kind === 'close') {
    shard?.dispose();
    if (parentPort === null && process.connected) process.disconnect();
    process.exit(0);
  }
  if (m.kind === 'init') {
    openProductShard(m.init).then(
      (s) => {
        shard = s;
        port.send({ ready: true });
      },
      (e: unknown) => port.send({ startError: e instanceof Error ? e.message : String(e) }),
    );
    return;
  }
  const reply = shard?.reply(m) ?? { id: m.id, ok: false, error: 'request before init' };
  port.send(reply, reply.ok ? reply.result.map((a) => a.buffer as ArrayBuffer) : []);
});
