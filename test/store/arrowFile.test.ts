import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArrowFile, writeArrowFile, encodeArrowTable } from '../../src/store/arrowFile.js';

test('Arrow files round-trip typed columns and metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arrow-'));
  const p = join(dir, 't.arrow');
  writeArrowFile(
    p,
    { x: new Float64Array([0.5, 1e-300]), y: new Float32Array([1.5, 2]), k: new Int32Array([3, -4]), s: ['a', 'b'] },
    { operator: 'ggn' },
  );
  const t = readArrowFile(p);
  assert.deepEqual(Array.from(t.columns.x as Float64Array), [0.5, 1e-300]);
  assert.ok(t.columns.y instanceof Float32Array);
  assert.deepEqual(Array.from(t.columns.k as Int32Array), [3, -4]);
  assert.deepEqual(t.columns.s, ['a', 'b']);
  assert.equal(t.metadata.operator, 'ggn');
});

test('unequal column lengths and corrupt files are named errors', () => {
  assert.throws(() => encodeArrowTable({ a: new Float64Array(2), b: new Float64Array(3) }), /equal lengths, received a: 2, b: 3/);
  const dir = mkdtempSync(join(tmpdir(), 'arrow-'));
  const p = join(dir, 'bad.arrow');
  writeFileSync(p, 'not arrow');
  assert.throws(
    () => readArrowFile(p),
    (e: Error) => e.message.startsWith(`${p}: not a readable Arrow IPC file`),
  );
});

test('a zero-row table round-trips with its column types', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arrow-'));
  const p = join(dir, 'empty.arrow');
  writeArrowFile(p, { x: new Float64Array(0), k: new Int32Array(0), s: [] }, { half: 'negative' });
  const t = readArrowFile(p);
  assert.ok(t.columns.x instanceof Float64Array && t.columns.x.length === 0);
  assert.ok(t.columns.k instanceof Int32Array && t.columns.k.length === 0);
  assert.deepEqual(t.columns.s, []);
  assert.equal(t.metadata.half, 'negative');
});
