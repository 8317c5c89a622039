// The spectrum/slq artifact carries the density band: density.arrow gains columns lo, hi (mean ± 2 SE
// across start vectors) and the reader returns them; with one start vector there are no such columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagonalOperator } from '../../src/linalg/operatorAlgebra.js';
import { measureSpectrum } from '../../src/linalg/spectrumMeasurement.js';
import { spectrumArtifact, writeSpectrumArtifact } from '../../src/stages/spectrum-slq/spectrumArtifact.js';
import type { UpstreamArtifact } from '../../src/stages/registry.js';

const options = (startVectors: number) => ({
  lanczosSteps: 20,
  startVectors,
  gridSize: 32,
  seed: 3,
  topK: 0,
  topKTol: 1e-6,
  deflate: 0,
  traceMatvecs: 0,
  logSpectrum: false,
});

for (const nv of [4, 1])
  test(`spectrum/slq artifact with ${nv} start vector(s): density.arrow ${nv > 1 ? 'holds the band (lo, hi)' : 'has no band'}`, async () => {
    const op = diagonalOperator(Float64Array.from({ length: 200 }, (_, i) => Math.sqrt(i)));
    const m = await measureSpectrum(op, options(nv));
    const dir = mkdtempSync(join(tmpdir(), 'spectrum-band-'));
    await writeSpectrumArtifact(dir, m, { operator: 'matrix' }, { numbers: [] });
    const d = await spectrumArtifact({ dir, manifest: { metrics: {} } } as unknown as UpstreamArtifact).density();
    assert.deepEqual(Array.from(d.y), Array.from(m.slq.density.y));
    if (nv === 1) {
      assert.equal(m.slq.band, undefined);
      assert.equal(d.band, undefined);
    } else {
      assert.ok(d.band !== undefined && m.slq.band !== undefined);
      assert.deepEqual(Array.from(d.band.lo), Array.from(m.slq.band.lo));
      assert.deepEqual(Array.from(d.band.hi), Array.from(m.slq.band.hi));
      for (let i = 0; i < d.y.length; i++) assert.ok(d.band.lo[i]! <= d.y[i]! && d.y[i]! <= d.band.hi[i]!);
    }
  });
