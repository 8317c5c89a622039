/**
 * Products A v_1 … A v_K computed together: an operator whose cost has a part shared by every
 * vector (a curvature product's forward and first backward pass over each batch) answers a block
 * of K vectors for much less than K single products.
 */
export type BlockProduct = (vectors: readonly Float64Array[]) => Promise<Float64Array[]>;

/**
 * A matvec that coalesces concurrent calls into block products: every call made before the event
 * loop's next turn (e.g. by several Lanczos runs advancing in lockstep, each awaiting its own
 * product) is answered by one `applyBlock` over up to `maxBlock` vectors (more calls: several
 * blocks, in call order). Each caller receives exactly the vector it would have from a single
 * product; a failed block rejects each of its callers.
 */
export function coalescedMatvec(applyBlock: BlockProduct, maxBlock: number): (v: Float64Array) => Promise<Float64Array> {
  if (!Number.isInteger(maxBlock) || maxBlock < 1)
    throw new RangeError(`coalescedMatvec: maxBlock must be an integer ≥ 1, received ${maxBlock}`);
  let pending: { v: Float64Array; resolve: (y: Float64Array) => void; reject: (e: unknown) => void }[] = [];
  const flush = (): void => {
    const all = pending;
    pending = [];
    for (let k = 0; k < all.length; k += maxBlock) {
      const block = all.slice(k, k + maxBlock);
      applyBlock(block.map((p) => p.v)).then(
        (ys) => block.forEach((p, j) => p.resolve(ys[j]!)),
        (e: unknown) => block.forEach((p) => p.reject(e)),
      );
    }
  };
  return (v) =>
    new Promise((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ v, resolve, reject });
    });
}
