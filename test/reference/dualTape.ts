/**
 * An independent float64 reference for curvature products: a scalar reverse-mode tape whose
 * values and local partial derivatives are dual numbers (a + ȧ ε, ε² = 0).
 *
 * Forward-over-reverse (Pearlmutter 1994; Griewank & Walther, "Evaluating Derivatives", §5):
 * seeding each parameter's tangent with v_j makes every value carry its directional derivative
 * along v; the reverse sweep, run in dual arithmetic, then yields ∇ℓ in the real parts and
 * (∇²ℓ) v in the tangent parts — exactly, with no finite differences, kinks or tfjs involved.
 * Forward tangents of the logits are J v directly.
 */
export class DualTape {
  /** Real part and tangent of every node's value. */
  readonly val: number[] = [];
  readonly dot: number[] = [];
  /** Parents of each node and the dual partial ∂node/∂parent (real part, tangent). */
  readonly parents: number[][] = [];
  readonly pval: number[][] = [];
  readonly pdot: number[][] = [];

  #node(val: number, dot: number, parents: number[], pval: number[], pdot: number[]): number {
    this.val.push(val);
    this.dot.push(dot);
    this.parents.push(parents);
    this.pval.push(pval);
    this.pdot.push(pdot);
    return this.val.length - 1;
  }

  constant(c: number): number {
    return this.#node(c, 0, [], [], []);
  }

  /** An independent variable with value x and tangent ẋ (v_j for parameters, 0 otherwise). */
  variable(x: number, tangent: number): number {
    return this.#node(x, tangent, [], [], []);
  }

  add(a: number, b: number): number {
    return this.#node(this.val[a]! + this.val[b]!, this.dot[a]! + this.dot[b]!, [a, b], [1, 1], [0, 0]);
  }

  sub(a: number, b: number): number {
    return this.#node(this.val[a]! - this.val[b]!, this.dot[a]! - this.dot[b]!, [a, b], [1, -1], [0, 0]);
  }

  mul(a: number, b: number): number {
    const av = this.val[a]!;
    const ad = this.dot[a]!;
    const bv = this.val[b]!;
    const bd = this.dot[b]!;
    // ∂(ab)/∂a = b, ∂(ab)/∂b = a (as duals)
    return this.#node(av * bv, ad * bv + av * bd, [a, b], [bv, av], [bd, ad]);
  }

  scale(a: number, c: number): number {
    return this.#node(c * this.val[a]!, c * this.dot[a]!, [a], [c], [0]);
  }

  /** Σ of the given nodes (one node, many parents). */
  sum(nodes: readonly number[]): number {
    let v = 0;
    let d = 0;
    for (const n of nodes) {
      v += this.val[n]!;
      d += this.dot[n]!;
    }
    return this.#node(
      v,
      d,
      [...nodes],
      nodes.map(() => 1),
      nodes.map(() => 0),
    );
  }

  /** Σ_k a_k b_k (dot product of node lists). */
  dotProduct(a: readonly number[], b: readonly number[]): number {
    let v = 0;
    let d = 0;
    const parents: number[] = [];
    const pv: number[] = [];
    const pd: number[] = [];
    for (let k = 0; k < a.length; k++) {
      const x = a[k]!;
      const y = b[k]!;
      v += this.val[x]! * this.val[y]!;
      d += this.dot[x]! * this.val[y]! + this.val[x]! * this.dot[y]!;
      parents.push(x, y);
      pv.push(this.val[y]!, this.val[x]!);
      pd.push(this.dot[y]!, this.dot[x]!);
    }
    return this.#node(v, d, parents, pv, pd);
  }

  tanh(a: number): number {
    const y = Math.tanh(this.val[a]!);
    const ad = this.dot[a]!;
    const g = 1 - y * y;
    const yd = g * ad;
    // d/dx tanh = 1 − y², its tangent −2 y ẏ
    return this.#node(y, yd, [a], [g], [-2 * y * yd]);
  }

  relu(a: number): number {
    const on = this.val[a]! > 0 ? 1 : 0;
    return this.#node(on * this.val[a]!, on * this.dot[a]!, [a], [on], [0]);
  }

  exp(a: number): number {
    const y = Math.exp(this.val[a]!);
    const yd = y * this.dot[a]!;
    return this.#node(y, yd, [a], [y], [yd]);
  }

  log(a: number): number {
    const x = this.val[a]!;
    const xd = this.dot[a]!;
    return this.#node(Math.log(x), xd / x, [a], [1 / x], [-xd / (x * x)]);
  }

  /** The first node of maximal value (strict >, in the order given): routes like tfjs's max-pool. */
  selectMax(nodes: readonly number[]): number {
    let best = nodes[0]!;
    for (const n of nodes) if (this.val[n]! > this.val[best]!) best = n;
    return this.#node(this.val[best]!, this.dot[best]!, [best], [1], [0]);
  }

  /**
   * Reverse sweep from seeds (node → dual adjoint). Returns the dual adjoints of the requested
   * nodes: real parts = ∂(Σ seed·node)/∂x, tangents = their directional derivatives along the
   * forward tangents.
   */
  reverse(
    seeds: ReadonlyMap<number, readonly [number, number]>,
    wanted: readonly number[],
  ): { val: Float64Array; dot: Float64Array } {
    const n = this.val.length;
    const av = new Float64Array(n);
    const ad = new Float64Array(n);
    for (const [node, [s, sd]] of seeds) {
      av[node]! += s;
      ad[node]! += sd;
    }
    for (let i = n - 1; i >= 0; i--) {
      const a = av[i]!;
      const d = ad[i]!;
      if (a === 0 && d === 0) continue;
      const ps = this.parents[i]!;
      const pv = this.pval[i]!;
      const pd = this.pdot[i]!;
      for (let k = 0; k < ps.length; k++) {
        const p = ps[k]!;
        // (a + d ε)(pv + pd ε) = a pv + (d pv + a pd) ε
        av[p]! += a * pv[k]!;
        ad[p]! += d * pv[k]! + a * pd[k]!;
      }
    }
    return { val: Float64Array.from(wanted, (w) => av[w]!), dot: Float64Array.from(wanted, (w) => ad[w]!) };
  }
}
