import * as tf from '@tensorflow/tfjs-core';

/**
 * One recorded tfjs gradient tape, back-propagated SEVERAL times with different cotangents
 * (tfjs's own `tf.grads` records, back-propagates once and frees the tape). Lets G·v reuse the
 * forward pass of its J·v step for its final Jᵀ(Q J v) step instead of running the network again.
 *
 * Uses tfjs-core's Engine internals (4.x: `startTape`/`endTape`, `state.activeTape`,
 * `state.gradientDepth`, tape nodes `{inputs, outputs, gradient, saved}`), the same ones
 * `Engine.gradients` uses; `getFilteredNodes` and `backpropagate` below follow tfjs-core's
 * src/tape.ts (Apache-2.0, © Google LLC). `sharedTapeAvailable()` checks the internals exist;
 * callers fall back to plain `tf.grads` when it is false.
 */

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
}

function engine(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/** Whether this tfjs-core exposes the tape internals used here. */
export function sharedTapeAvailable(): boolean {
  const e = engine() as Partial<EngineInternals>;
  return (
    typeof e.startTape === 'function' &&
    typeof e.endTape === 'function' &&
    e.state !== undefined &&
    typeof e.state.gradientDepth === 'number' &&
    typeof (e.state as { nextTapeNodeId?: unknown }).nextTapeNodeId === 'number'
  );
}

/** Whether `RecordedTape.record` can run now: internals available and no gradient computation in progress. */
export function canRecordTape(): boolean {
  return sharedTapeAvailable() && engine().state.gradientDepth === 0;
}

/** A recorded tape: back-propagate through it any number of times, then `release()` it. */
export class RecordedTape {
  readonly #nodes: TapeNode[];
  #released = false;

  private constructor(nodes: TapeNode[]) {
    this.#nodes = nodes;
  }

  /**
   * Runs `f` with the tape on (as the forward pass of tf.grads does, nested tf.grads inside
   * included: their backward ops are recorded too) and keeps the tape. Must be called outside
   * any other gradient computation. Tensors `f` returns are kept (not tidied).
   */
  static record<T>(f: () => T): { tape: RecordedTape; result: T } {
    const e = engine();
    if (e.state.gradientDepth !== 0) throw new Error('RecordedTape.record: called inside another gradient computation');
    e.startTape();
    let result: T;
    try {
      result = tf.tidy(() => f() as never) as T;
    } catch (err) {
      e.endTape();
      releaseNodes(e.state.activeTape ?? []);
      e.state.activeTape = null;
      throw err;
    } finally {
      if (e.state.gradientDepth > 0) e.endTape();
    }
    const tape = new RecordedTape(e.state.activeTape ?? []);
    e.state.activeTape = null;
    return { tape, result };
  }

  /**
   * ∂Σ_k⟨dy_k, y_k⟩/∂x for each x in xs, through the recorded ops (none recorded now). `y` is one
   * tensor (dy = ones when absent) or several, each with its cotangent.
   */
  gradients(xs: readonly tf.Tensor[], y: tf.Tensor | readonly tf.Tensor[], dy?: tf.Tensor | readonly tf.Tensor[]): tf.Tensor[] {
    if (this.#released) throw new Error('RecordedTape.gradients: tape already released');
    const ys = y instanceof tf.Tensor ? [y] : y;
    const dys = dy === undefined ? undefined : dy instanceof tf.Tensor ? [dy] : dy;
    if (dys !== undefined && dys.length !== ys.length)
      throw new Error(`RecordedTape.gradients: ${ys.length} outputs but ${dys.length} cotangents`);
    return tf.tidy(() => {
      const filtered = getFilteredNodes(this.#nodes, xs, ys);
      const acc: Record<number, tf.Tensor> = {};
      ys.forEach((yk, k) => {
        // a clone: back-propagation disposes accumulators it replaces, never the caller's tensors
        const seed = dys?.[k] === undefined ? tf.onesLike(yk) : tf.clone(dys[k]!);
        const prev = acc[yk.id];
        acc[yk.id] = prev === undefined ? seed : tf.add(prev, seed);
      });
      backpropagate(acc, filtered);
      return xs.map((x) => acc[x.id] ?? tf.zerosLike(x));
    });
  }

  /** Bytes of the tensors the recorded ops saved for their gradients (4 per element). */
  get bytes(): number {
    const seen = new Set<number>();
    let bytes = 0;
    for (const n of this.#nodes)
      for (const t of n.saved ?? [])
        if (!seen.has(t.id)) {
          seen.add(t.id);
          bytes += t.size * 4;
        }
    return bytes;
  }

  /** Frees the tensors the recorded ops saved for their gradients. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    releaseNodes(this.#nodes);
  }
}

function releaseNodes(nodes: readonly TapeNode[]): void {
  for (const n of nodes) for (const t of n.saved ?? []) t.dispose();
}

/**
 * Inputs whose derivative is zero wherever it exists (piecewise-constant kernels; the rules of
 * gradientConfigs.ts return zeros for exactly these): back-propagation skips them, so e.g. the
 * second backward through ReLU's rule dy·step(x) no longer builds step's zero gradient and the
 * mask half of the product rule. Same result, fewer kernels.
 */
const ZERO_DERIVATIVE_INPUTS: Readonly<Record<string, readonly string[]>> = {
  Step: ['x'],
  Sign: ['x'],
  Floor: ['x'],
  Ceil: ['x'],
  Round: ['x'],
  ZerosLike: ['x'],
  OnesLike: ['x'],
  Equal: ['a', 'b'],
  NotEqual: ['a', 'b'],
  Less: ['a', 'b'],
  LessEqual: ['a', 'b'],
  Greater: ['a', 'b'],
  GreaterEqual: ['a', 'b'],
  LogicalAnd: ['a', 'b'],
  LogicalOr: ['a', 'b'],
  LogicalNot: ['x'],
  Select: ['condition'],
  MaxPoolGrad: ['input', 'output'],
  AvgPoolGrad: ['input'],
};

function differentiable(node: TapeNode, input: string): boolean {
  return !(ZERO_DERIVATIVE_INPUTS[node.kernelName]?.includes(input) ?? false);
}

/**
 * The nodes on a path from some x to some y, their inputs pruned to those reached from xs
 * (tfjs getFilteredNodesXToY), not counting paths through zero-derivative inputs.
 */
function getFilteredNodes(tape: readonly TapeNode[], xs: readonly tf.Tensor[], ys: readonly tf.Tensor[]): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name]!.id) && differentiable(node, name)) {
        for (const o of node.outputs) fromX.add(o.id);
        nodesFromX.add(node.id);
        break;
      }
    }
  }
  const toY = new Set<number>(ys.map((y) => y.id));
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const name in node.inputs) toY.add(node.inputs[name]!.id);
      nodesToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs)
      if (fromX.has(node.inputs[name]!.id) && differentiable(node, name)) inputs[name] = node.inputs[name]!;
    out.push({ ...node, inputs });
  }
  return out;
}

/** Reverse sweep accumulating ∂/∂tensor into `acc` by tensor id (tfjs backpropagateGradients). */
function backpropagate(acc: Record<number, tf.Tensor>, filtered: readonly TapeNode[]): void {
  for (let i = filtered.length - 1; i >= 0; i--) {
    const node = filtered[i]!;
    const dys = node.outputs.map((o) => acc[o.id] ?? null);
    if (dys.every((d) => d === null)) continue; // zero cotangent: zero contribution
    if (node.gradient === undefined)
      throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const grads = node.gradient(dys);
    for (const name in node.inputs) {
      const g = grads[name];
      if (g === undefined)
        throw new Error(
          `Cannot backprop through input ${name} of ${node.kernelName}. Available gradients found: ${Object.keys(grads)}.`,
        );
      const dx = tf.tidy(g);
      const x = node.inputs[name]!;
      if (dx.dtype !== 'float32')
        throw new Error(`Error in gradient for op ${node.kernelName}: gradient of input ${name} has dtype ${dx.dtype}`);
      if (!tf.util.arraysEqual(dx.shape, x.shape))
        throw new Error(
          `Error in gradient for op ${node.kernelName}: gradient of input ${name} has shape ${dx.shape}, input ${x.shape}`,
        );
      const prev = acc[x.id];
      if (prev === undefined) acc[x.id] = dx;
      else {
        acc[x.id] = tf.add(prev, dx);
        prev.dispose();
      }
    }
  }
}
