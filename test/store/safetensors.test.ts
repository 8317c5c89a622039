import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  f16BitsToNumber,
  numberToBF16Bits,
  numberToF16Bits,
  readSafetensors,
  toFloat32,
  writeSafetensors,
  type SafeTensor,
} from '../../src/store/safetensors.js';

/** Builds a file by hand from a header object and a data buffer, exactly as the format describes. */
function handMade(header: unknown, data: Uint8Array, pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) while ((8 + json.length) % 8 !== 0) json += ' ';
  const j = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + j.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
  out.set(j, 8);
  out.set(data, 8 + j.length);
  return out;
}

test('encoded bytes follow the format: u64 LE header length, padded JSON header, contiguous little-endian buffer', () => {
  const bytes = encodeSafetensors(
    {
      w: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      b: { dtype: 'F32', shape: [2], data: new Float32Array([-0.5, 0.25]) },
      n: { dtype: 'I64', shape: [], data: new BigInt64Array([7n]) },
      m: { dtype: 'U8', shape: [3], data: new Uint8Array([9, 8, 7]) },
    },
    { 'specpipe.model': '{"kind":"mlp"}' },
  );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, 'header padded so the buffer starts at a multiple of 8');
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/);
  const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  assert.deepEqual(Object.keys(header), ['__metadata__', 'n', 'b', 'w', 'm']);
  assert.deepEqual(header.__metadata__, { 'specpipe.model': '{"kind":"mlp"}' });
  // 8-byte dtypes first, then 4-byte (by name), then 1-byte: every tensor aligned to its element size.
  assert.deepEqual(header.n, { dtype: 'I64', shape: [], data_offsets: [0, 8] });
  assert.deepEqual(header.b, { dtype: 'F32', shape: [2], data_offsets: [8, 16] });
  assert.deepEqual(header.w, { dtype: 'F32', shape: [2, 3], data_offsets: [16, 40] });
  assert.deepEqual(header.m, { dtype: 'U8', shape: [3], data_offsets: [40, 43] });
  assert.equal(bytes.length, 8 + n + 43);
  const buf = 8 + n;
  assert.equal(view.getBigInt64(buf, true), 7n);
  assert.equal(view.getFloat32(buf + 8, true), -0.5);
  assert.equal(view.getFloat32(buf + 12, true), 0.25);
  for (let i = 0; i < 6; i++) assert.equal(view.getFloat32(buf + 16 + 4 * i, true), i + 1, 'row-major order');
  assert.deepEqual(Array.from(bytes.subarray(buf + 40)), [9, 8, 7]);
  // The exact bytes of the smallest file, as the reference implementation writes it.
  const tiny = encodeSafetensors({ a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
  const expectedJson = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  const padded = expectedJson.padEnd(Math.ceil(expectedJson.length / 8) * 8, ' ');
  assert.deepEqual(
    Buffer.from(tiny),
    Buffer.concat([Buffer.from([padded.length, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(padded), Buffer.from([0, 0, 0x80, 0x3f])]),
  );
});

test('every dtype round-trips through a file, with metadata; the write is atomic', () => {
  const tensors: Record<string, SafeTensor> = {
    f64: { dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -1e-300]) },
    f32: { dtype: 'F32', shape: [1, 2], data: new Float32Array([1.5, -2]) },
    f16: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x3555]) },
    bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0x4049]) },
    i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 5n]) },
    i32: { dtype: 'I32', shape: [2], data: new Int32Array([-7, 2 ** 30]) },
    i16: { dtype: 'I16', shape: [1], data: new Int16Array([-300]) },
    i8: { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) },
    u8: { dtype: 'U8', shape: [1], data: new Uint8Array([255]) },
    flag: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  const p = join(dir, 'sub', 'all.safetensors');
  writeSafetensors(p, tensors, { note: 'héllo', 'specpipe.preprocess': '{"mean":[0.5],"std":[0.25],"pad":0}' });
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['all.safetensors'], 'no temporary file left behind');
  const back = readSafetensors(p);
  assert.deepEqual(back.metadata, { note: 'héllo', 'specpipe.preprocess': '{"mean":[0.5],"std":[0.25],"pad":0}' });
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const b = back.tensors[name]!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.equal(b.data.constructor, t.data.constructor, name);
    assert.deepEqual(Array.from(b.data as ArrayLike<number>), Array.from(t.data as ArrayLike<number>), name);
  }
  assert.deepEqual(Array.from(toFloat32(back.tensors.f16!)), [1, -2, Math.fround(f16BitsToNumber(0x3555))]);
  assert.deepEqual(Array.from(toFloat32(back.tensors.bf16!)), [1, 3.140625]);
  assert.deepEqual(Array.from(toFloat32(back.tensors.i64!)), [Math.fround(-(2 ** 62)), 5]);
  assert.deepEqual(Array.from(toFloat32(back.tensors.f64!)), [Math.fround(Math.PI), -0]);
  assert.deepEqual(Array.from(toFloat32(back.tensors.i8!)), [-128, 127]);
  // Decoding from a Buffer inside Node's shared pool still yields independent, correctly placed arrays.
  const pooled = Buffer.concat([Buffer.from([1, 2, 3]), readFileSync(p)]).subarray(3);
  const again = decodeSafetensors(pooled, p);
  assert.deepEqual(Array.from(again.tensors.f64!.data as Float64Array), [Math.PI, -1e-300]);
});

test('half and bfloat16 conversions match IEEE 754 (round to nearest even)', () => {
  assert.equal(numberToF16Bits(1), 0x3c00);
  assert.equal(numberToF16Bits(-2), 0xc000);
  assert.equal(numberToF16Bits(65504), 0x7bff);
  assert.equal(numberToF16Bits(65520), 0x7c00);
  assert.equal(numberToF16Bits(2 ** -24), 0x0001);
  assert.equal(numberToF16Bits(2 ** -14), 0x0400);
  assert.equal(numberToF16Bits(1 + 2 ** -11), 0x3c00, 'tie rounds to even');
  assert.equal(numberToF16Bits(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds to even (up)');
  assert.equal(f16BitsToNumber(0x7bff), 65504);
  assert.equal(f16BitsToNumber(0x0001), 2 ** -24);
  assert.equal(f16BitsToNumber(0xfc00), -Infinity);
  assert.ok(Number.isNaN(f16BitsToNumber(0x7e00)));
  for (let bits = 0; bits < 0x7c00; bits += 37) assert.equal(numberToF16Bits(f16BitsToNumber(bits)), bits);
  assert.equal(numberToBF16Bits(1), 0x3f80);
  assert.equal(numberToBF16Bits(Math.PI), 0x4049);
});

test('the encoder rejects inconsistent tensors, naming the tensor and what it received', () => {
  assert.throws(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), {
    message: 'safetensors tensor "w": shape [2, 2] has 4 elements, received 3',
  });
  assert.throws(() => encodeSafetensors({ w: { dtype: 'F16', shape: [1], data: new Float32Array(1) } }), {
    message: 'safetensors tensor "w": dtype F16 is carried by a Uint16Array, received a Float32Array',
  });
  assert.throws(() => encodeSafetensors({ w: { dtype: 'F8' as 'F32', shape: [1], data: new Float32Array(1) } }), {
    message: 'safetensors tensor "w": unknown dtype "F8", expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL',
  });
});

test('corrupt files give precise errors naming the file, what was expected and what was found', () => {
  const p = '/data/x.safetensors';
  const f4 = new Uint8Array(8);
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  // header length beyond the file size
  const long = handMade(ok, f4);
  new DataView(long.buffer).setBigUint64(0, 1000n, true);
  assert.throws(() => decodeSafetensors(long, p), {
    message: `${p}: safetensors header length is 1000 bytes, beyond the file size (${long.length - 8} bytes follow the 8-byte length prefix)`,
  });
  assert.throws(() => decodeSafetensors(new Uint8Array(5), p), {
    message: `${p}: not a safetensors file: expected an 8-byte header length, found a file of 5 bytes`,
  });
  // bad JSON
  const bad = handMade(ok, f4);
  bad[8] = 0x5b; // '[' instead of '{'
  assert.throws(
    () => decodeSafetensors(bad, p),
    (e: Error) =>
      e.message.startsWith(`${p}: safetensors header (`) &&
      e.message.includes('is not valid JSON') &&
      e.message.endsWith("the header's bytes are not shown") &&
      !e.message.includes('"a"'),
  );
  assert.throws(() => decodeSafetensors(handMade([1, 2], new Uint8Array(0)), p), {
    message: `${p}: safetensors header must be a JSON object, found an array`,
  });
  // unknown dtype
  assert.throws(
    () => decodeSafetensors(handMade({ a: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), p),
    {
      message: `${p}: tensor "a": unknown dtype "F8_E4M3", expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL`,
    },
  );
  // dtype size × shape ≠ byte length
  assert.throws(() => decodeSafetensors(handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f4), p), {
    message: `${p}: tensor "a": dtype F32 (4 bytes) × shape [3] needs 12 bytes, found data_offsets [0, 8] (8 bytes)`,
  });
  // offsets not contiguous: a gap, an overlap, and a buffer longer than the tensors
  const two = (b0: number, e0: number, b1: number, e1: number, len: number): Uint8Array =>
    handMade(
      {
        a: { dtype: 'U8', shape: [e0 - b0], data_offsets: [b0, e0] },
        b: { dtype: 'U8', shape: [e1 - b1], data_offsets: [b1, e1] },
      },
      new Uint8Array(len),
    );
  assert.throws(() => decodeSafetensors(two(0, 4, 6, 8, 8), p), {
    message: `${p}: tensor "b": data_offsets are not contiguous: expected begin 4, found [6, 8] (leaves a gap after the previous tensor)`,
  });
  assert.throws(() => decodeSafetensors(two(0, 4, 2, 6, 6), p), {
    message: `${p}: tensor "b": data_offsets are not contiguous: expected begin 4, found [2, 6] (overlaps the previous tensor)`,
  });
  assert.throws(() => decodeSafetensors(two(2, 4, 4, 6, 6), p), {
    message: `${p}: tensor "a": data_offsets are not contiguous: expected begin 0, found [2, 4] (leaves a gap after the previous tensor)`,
  });
  assert.throws(() => decodeSafetensors(two(0, 4, 4, 6, 9), p), {
    message: `${p}: tensors cover 6 bytes of the data buffer, but the buffer after the header has 9 bytes`,
  });
  assert.throws(
    () => decodeSafetensors(handMade({ a: { dtype: 'U8', shape: [2], data_offsets: [2, 0] } }, new Uint8Array(2)), p),
    {
      message: `${p}: tensor "a": data_offsets must be [begin, end] with 0 ≤ begin ≤ end, found [2,0]`,
    },
  );
  assert.throws(
    () => decodeSafetensors(handMade({ a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)), p),
    {
      message: `${p}: tensor "a": shape must be a list of non-negative integers, found [-1]`,
    },
  );
  assert.throws(() => decodeSafetensors(handMade({ __metadata__: { k: 3 } }, new Uint8Array(0)), p), {
    message: `${p}: "__metadata__" value of "k" must be a string, found 3`,
  });
  // an unpadded header (allowed by the format) still reads
  const unpadded = decodeSafetensors(
    handMade({ a: { dtype: 'U8', shape: [3], data_offsets: [0, 3] } }, new Uint8Array([4, 5, 6]), false),
    p,
  );
  assert.deepEqual(Array.from(unpadded.tensors.a!.data as Uint8Array), [4, 5, 6]);
  // missing file
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  assert.throws(() => readSafetensors(join(dir, 'none.safetensors')), {
    message: `${join(dir, 'none.safetensors')}: cannot read safetensors file (ENOENT)`,
  });
  writeFileSync(join(dir, 'junk.safetensors'), 'hello world, not a tensor file');
  assert.throws(
    () => readSafetensors(join(dir, 'junk.safetensors')),
    (e: Error) => e.message.startsWith(`${join(dir, 'junk.safetensors')}: safetensors header length is `),
  );
});
