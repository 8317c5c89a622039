import type { WorkerInit, WorkerReply } from './productEngine.js';
import type { ProductRequest } from './productRequest.js';
import { openProductShard, type ProductShard } from './productShard.js';

/**
 * Child process of ProcessProductEngine (started with child_process.fork, advanced
 * serialization, so typed arrays cross the IPC channel as they are). Protocol:
 *   parent → child  { kind: 'init', init: WorkerInit }        → { ready: true } | { startError }
 *                   { id, kind: 'request', request }          → WorkerReply (float64 sums over its shard)
 *                   { id, kind: 'evaluations' }               → WorkerReply ([count])
 *                   { kind: 'close' }                         → exits 0
 * It exits when the parent closes the channel (the parent died), so no shard outlives its engine.
 */
type ParentMessage =
  | { readonly kind: 'init'; readonly init: WorkerInit }
  | { readonly id: number; readonly kind: 'request'; readonly request: ProductRequest }
  | { readonly id: number; readonly kind: 'evaluations' }
  | { readonly kind: 'close' };

const send = (m: unknown): void => {
  if (process.connected) process.send!(m);
};

let shard: ProductShard | undefined;

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ParentMessage) => {
  if (m.kind === 'close') {
    shard?.dispose();
    process.disconnect();
    process.exit(0);
  }
  if (m.kind === 'init') {
    openProductShard(m.init).then(
      (s) => {
        shard = s;
        send({ ready: true, pid: process.pid });
      },
      (e: unknown) => send({ startError: e instanceof Error ? e.message : String(e) }),
    );
    return;
  }
  let reply: WorkerReply;
  try {
    if (shard === undefined) throw new Error('request before init');
    const result = m.kind === 'evaluations' ? [Float64Array.of(shard.evaluations)] : shard.answer(m.request);
    reply = { id: m.id, ok: true, result };
  } catch (e) {
    reply = { id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  send(reply);
});
