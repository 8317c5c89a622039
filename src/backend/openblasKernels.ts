/** Placeholder until the OpenBLAS kernels land: reports them unavailable. */
export function registerOpenBlasKernels(): { ok: true } | { ok: false; reason: string } {
  return { ok: false, reason: 'not implemented yet' };
}
