/**
 * im2col / col2im for NHWC convolutions with dilation 1, the layout change that turns a
 * convolution into one GEMM (Chellapilla, Puri & Simard 2006, "High performance convolutional
 * neural networks for document processing"):
 *
 *   cols[(n·OH + oh)·OW + ow, (kh·FW + kw)·C + c] = x[n, oh·SH − PT + kh, ow·SW − PL + kw, c]
 *
 * (zero where the index falls into the padding). With W reshaped to [FH·FW·C, O]:
 *   y  = cols · W                       (Conv2D)
 *   dW = colsᵀ · dy                     (Conv2DBackpropFilter)
 *   dx = col2im(dy · Wᵀ)                (Conv2DBackpropInput; col2im sums overlapping patches)
 */
export interface ConvGeometry {
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly padTop: number;
  readonly padLeft: number;
}

/** Columns of the im2col matrix: FH·FW·C. */
export function patchSize(g: ConvGeometry): number {
  return g.filterHeight * g.filterWidth * g.inChannels;
}

/**
 * Writes the im2col rows of images [n0, n0 + count) of `x` (NHWC, float32) into `cols`
 * (row-major, count·OH·OW rows of FH·FW·C); every entry of those rows is written.
 */
export function im2col(x: Float32Array, g: ConvGeometry, n0: number, count: number, cols: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, padTop: PT, padLeft: PL } = g;
  const K = FH * FW * C;
  const rowLen = FW * C;
  let dst = 0;
  for (let n = 0; n < count; n++) {
    const xImage = (n0 + n) * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - PT;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * SW - PL;
        // In-bounds kw range is contiguous: kwLo ≤ kw < kwHi.
        const kwLo = iw0 < 0 ? -iw0 : 0;
        const kwHi = Math.min(FW, W - iw0);
        for (let kh = 0; kh < FH; kh++) {
          const ih = ih0 + kh;
          const rowStart = dst + kh * rowLen;
          if (ih < 0 || ih >= H || kwHi <= kwLo) {
            cols.fill(0, rowStart, rowStart + rowLen);
            continue;
          }
          if (kwLo > 0) cols.fill(0, rowStart, rowStart + kwLo * C);
          const src = xImage + (ih * W + iw0 + kwLo) * C;
          const len = (kwHi - kwLo) * C;
          const d = rowStart + kwLo * C;
          if (len >= 48) cols.set(x.subarray(src, src + len), d);
          else for (let t = 0; t < len; t++) cols[d + t] = x[src + t]!;
          if (kwHi < FW) cols.fill(0, rowStart + kwHi * C, rowStart + rowLen);
        }
        dst += K;
      }
    }
  }
}

/**
 * Adds the im2col rows in `cols` back onto images [n0, n0 + count) of `dx` (NHWC), summing
 * entries that several patches share; the adjoint of `im2col`. `dx` must start zeroed.
 */
export function col2im(cols: Float32Array, g: ConvGeometry, n0: number, count: number, dx: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, padTop: PT, padLeft: PL } = g;
  const K = FH * FW * C;
  const rowLen = FW * C;
  let src = 0;
  for (let n = 0; n < count; n++) {
    const xImage = (n0 + n) * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - PT;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * SW - PL;
        const kwLo = iw0 < 0 ? -iw0 : 0;
        const kwHi = Math.min(FW, W - iw0);
        if (kwHi > kwLo) {
          for (let kh = 0; kh < FH; kh++) {
            const ih = ih0 + kh;
            if (ih < 0 || ih >= H) continue;
            const s = src + kh * rowLen + kwLo * C;
            const d = xImage + (ih * W + iw0 + kwLo) * C;
            const len = (kwHi - kwLo) * C;
            for (let t = 0; t < len; t++) dx[d + t] = dx[d + t]! + cols[s + t]!;
          }
        }
        src += K;
      }
    }
  }
}
