import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProductRequest } from './productRequestType.js';
import type { ShardQuestion, ShardReply } from './productShard.js';
import { moduleExtension } from './networkBuilder.js';
import { describeRequest, type ShardConnection, type ShardPlan, type ShardTransport } from './shardedProductEngine.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * Shards in separate PROCESSES on this machine (child_process.fork running productShardMain.ts,
 * one tfjs backend each, typed arrays over the IPC channel with Node's advanced serialization),
 * for ShardedProductEngine: the shape of the multi-machine split
 * (src/executor/bullmq/productShards.ts), with IPC in place of Redis.
 *
 * Faults: a shard process that exits (killed, out of memory, crashed) fails the product it was
 * computing — and every later one — with an error naming the shard, its samples and its pid; a
 * product timeout (`productTimeoutMs`) turns a hung shard into the same error. `close()` ends every
 * child (SIGKILL after a grace period); children also exit by themselves when the parent dies
 * (their IPC channel closes). While no product is in flight the children do not keep the parent's
 * event loop alive.
 */
export interface ProcessTransportOptions {
  /** Longest wait for a shard to load its backend, network and data, in ms (default 120 000). */
  readonly startTimeoutMs?: number;
}

/**
 * Shard processes; `productTimeoutMs` (from ExecutionOptions) is the longest wait for one shard's
 * answer to one product (0 or absent: no limit; a dead shard is detected by its exit).
 */
export function processTransport(options: ProcessTransportOptions = {}): ShardTransport {
  return { open: (shards, o) => ProcessShards.start(shards, o.productTimeoutMs ?? 0, options.startTimeoutMs ?? 120_000) };
}

interface Shard {
  readonly index: number;
  readonly range: readonly [number, number];
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Why it exited, once it did ("signal SIGKILL", "code 1"). */
  exit: string | undefined;
  /** The tail of what it printed to stderr (for error messages). */
  stderr: string;
  inFlight: number;
}

interface Pending {
  readonly shard: number;
  readonly what: string;
  readonly resolve: (r: Float64Array[]) => void;
  readonly reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

const CLOSE_GRACE_MS = 5_000;

class ProcessShards implements ShardConnection {
  readonly #shards: Shard[];
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: Error | undefined;
  #closing = false;

  private constructor(shards: Shard[], timeoutMs: number) {
    this.#shards = shards;
    this.#timeoutMs = timeoutMs;
    for (const s of shards) {
      s.child.on('message', (m: ShardReply) => this.#onReply(s, m));
      s.child.on('exit', () => this.#onExit(s));
      s.child.on('error', (e) => this.#fail(s, `failed: ${e.message}`));
      setLoopRef(s, false);
      if (s.exit !== undefined) this.#fail(s, `exited (${s.exit})`);
    }
  }

  /** Process ids of the shard processes (tests check none outlives `close()`). */
  get pids(): number[] {
    return this.#shards.map((s) => s.child.pid!);
  }

  /** Forks the shard processes, each loading its shard; resolves when all are ready. */
  static async start(plans: readonly ShardPlan[], productTimeoutMs: number, timeout: number): Promise<ProcessShards> {
    const entry = fileURLToPath(new URL(`./productShardMain${moduleExtension()}`, import.meta.url));
    const execArgv = moduleExtension() === '.ts' ? ['--import', 'tsx'] : [];
    const shards: Shard[] = plans.map(({ range, index }) => {
      const child = fork(entry, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
      const shard: Shard = {
        index,
        range,
        child,
        exit: undefined,
        stderr: '',
        inFlight: 0,
        exited: new Promise<void>((resolve) => {
          child.once('exit', (code, signal) => {
            shard.exit = signal !== null ? `signal ${signal}` : `code ${code}`;
            resolve();
          });
          child.once('error', () => resolve());
        }),
      };
      child.stderr?.on('data', (c: Buffer) => {
        shard.stderr = (shard.stderr + c.toString()).slice(-2000);
        process.stderr.write(c);
      });
      return shard;
    });
    const ready = shards.map(
      (s, k) =>
        new Promise<void>((resolve, reject) => {
          const name = shardName(s, shards.length);
          const timer = setTimeout(
            () => reject(new SpecpipeError('shard-start', `${name} did not load its problem within ${timeout / 1000} s`)),
            timeout,
          );
          const done = (): void => {
            clearTimeout(timer);
            s.child.off('message', onMessage);
            s.child.off('exit', onExit);
          };
          const onMessage = (m: { ready?: boolean; startError?: string }): void => {
            if (m.ready === true) {
              done();
              resolve();
            } else if (m.startError !== undefined) {
              done();
              reject(new SpecpipeError('shard-start', `curvature shard process failed to start: ${name}: ${m.startError}`));
            }
          };
          const onExit = (code: number | null, signal: string | null): void => {
            done();
            reject(
              new SpecpipeError(
                'shard-start',
                `${name} exited (${signal ?? `code ${code}`}) before it was ready${stderrTail(s)}`,
              ),
            );
          };
          s.child.on('message', onMessage);
          s.child.once('exit', onExit);
          s.child.send({ kind: 'init', init: plans[k]!.init });
        }),
    );
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(shards.map((s) => endChild(s)));
      throw e;
    }
    return new ProcessShards(shards, productTimeoutMs);
  }

  #onReply(s: Shard, m: ShardReply): void {
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#settle(m.id, p);
    if (m.ok) p.resolve(m.result);
    else p.reject(new SpecpipeError('shard-product', `${shardName(s, this.#shards.length)}: ${p.what} failed: ${m.error}`));
  }

  #settle(id: number, p: Pending): void {
    this.#pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    const s = this.#shards[p.shard]!;
    s.inFlight--;
    if (s.inFlight === 0) setLoopRef(s, false);
  }

  #onExit(s: Shard): void {
    if (this.#closing) return;
    this.#fail(s, `exited (${s.exit ?? 'unknown'})`);
  }

  /** Marks the engine broken by shard `s` and fails everything it was computing. */
  #fail(s: Shard, why: string): void {
    const name = shardName(s, this.#shards.length);
    const inFlight = [...this.#pending].filter(([, p]) => p.shard === s.index);
    const during = inFlight.length > 0 ? ` during ${inFlight.map(([, p]) => p.what).join(', ')}` : '';
    const error = new SpecpipeError('shard-died', `${name} ${why}${during}${stderrTail(s)}`);
    this.#failure ??= error;
    for (const [id, p] of inFlight) {
      this.#settle(id, p);
      p.reject(error);
    }
  }

  #ask(k: number, message: ShardQuestion): Promise<Float64Array[]> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closing) return Promise.reject(new SpecpipeError('engine-closed', 'curvature product engine: used after close()'));
    const s = this.#shards[k]!;
    const id = this.#nextId++;
    const what = describeRequest(message.kind === 'request' ? message.request : message);
    return new Promise((resolve, reject) => {
      const p: Pending = { shard: k, what, resolve, reject };
      this.#pending.set(id, p);
      if (s.inFlight++ === 0) setLoopRef(s, true);
      if (this.#timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.#fail(s, `did not answer within ${this.#timeoutMs / 1000} s (stopped)`);
          s.child.kill('SIGKILL');
        }, this.#timeoutMs);
      }
      s.child.send({ id, ...message }, (e) => {
        if (e) this.#fail(s, `could not be sent ${what}: ${e.message}`);
      });
    });
  }

  answer(requests: readonly ProductRequest[]): Promise<Float64Array[][]> {
    return Promise.all(this.#shards.map((_, k) => this.#ask(k, { kind: 'request', request: requests[k]! })));
  }

  async evaluations(): Promise<number> {
    const counts = await Promise.all(this.#shards.map((_, k) => this.#ask(k, { kind: 'evaluations' })));
    return counts.reduce((s, c) => s + c[0]![0]!, 0);
  }

  /** Ends every shard process (a polite close, SIGKILL after 5 s); idempotent. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const [id, p] of [...this.#pending]) {
      this.#settle(id, p);
      p.reject(new SpecpipeError('engine-closed', `curvature product engine closed during ${p.what}`));
    }
    await Promise.all(this.#shards.map((s) => endChild(s)));
  }
}

function shardName(s: Shard, count: number): string {
  return `curvature shard ${s.index + 1} of ${count} (samples [${s.range[0]}, ${s.range[1]}), pid ${s.child.pid})`;
}

function stderrTail(s: Shard): string {
  const t = s.stderr.trim();
  return t === '' ? '' : `; its last output: ${t.split('\n').slice(-5).join(' | ')}`;
}

/** Whether the child (its IPC channel and stderr pipe) keeps this process's event loop alive. */
function setLoopRef(s: Shard, on: boolean): void {
  const handles = [s.child, s.child.channel, s.child.stderr] as ({ ref?: () => void; unref?: () => void } | null | undefined)[];
  for (const h of handles) (on ? h?.ref : h?.unref)?.call(h);
}

async function endChild(s: Shard): Promise<void> {
  const c = s.child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  setLoopRef(s, true);
  try {
    if (c.connected) c.send({ kind: 'close' });
    else c.kill('SIGTERM');
  } catch {
    c.kill('SIGKILL');
  }
  const timer = setTimeout(() => c.kill('SIGKILL'), CLOSE_GRACE_MS);
  await s.exited;
  clearTimeout(timer);
}
