// Fuzzing of the binary header parsers (safetensors, .npy, IDX) and of `--set` overrides with
// fast-check. Property: every input ends within a time bound and either parses or throws a
// SpecpipeError whose message names the file (or the --set assignment) — never a bare
// TypeError/RangeError, a hang or an out-of-memory.
//
// Seeded: SPECPIPE_FUZZ_SEED=N replays a run (a failure prints its seed and the replay command);
// SPECPIPE_SLOW=1 runs 20× more cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { decodeSafetensors, encodeSafetensors } from '../../src/store/safetensors.js';
import { encodeNpyMatrix, parseNpyMatrix } from '../../src/linalg/matrixFile.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, decodeIdx } from '../../src/data/idx.js';
import { loadPipeline } from '../../src/pipeline/loadPipeline.js';
import { isSpecpipeError } from '../../src/util/errors.js';

const SLOW = process.env['SPECPIPE_SLOW'] === '1';
const SEED = process.env['SPECPIPE_FUZZ_SEED'] !== undefined ? Number(process.env['SPECPIPE_FUZZ_SEED']) : 20261205;
/** Cases per parser (each property below runs this many). */
export const RUNS = SLOW ? 20_000 : 1_000;
/** Longest one input may take to parse or be refused. */
const BOUND_MS = 250;

const enc = new TextEncoder();

/** Runs `parse`; passes when it returns, or throws a SpecpipeError whose message includes `name`. */
function parsesOrNames(parse: () => unknown, name: string): void {
  const t0 = performance.now();
  try {
    parse();
  } catch (e) {
    if (!isSpecpipeError(e))
      throw new Error(`not a SpecpipeError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    if (!e.message.includes(name)) throw new Error(`the message does not name ${name}: ${e.message}`);
    if (e.message.includes('\n') && e.name !== 'PipelineError') throw new Error(`not one line: ${e.message}`);
  }
  const ms = performance.now() - t0;
  if (ms > BOUND_MS) throw new Error(`took ${ms.toFixed(0)} ms (bound ${BOUND_MS} ms)`);
}

/** fc.assert with the suite's seed; a failure names the seed and how to replay it. */
function check(name: string, property: fc.IPropertyWithHooks<[Uint8Array]> | fc.IProperty<[string]>): void {
  try {
    fc.assert(property as fc.IProperty<unknown[]>, { seed: SEED, numRuns: RUNS, endOnFailure: true });
  } catch (e) {
    throw new Error(
      `${name}: fuzz failure with seed ${SEED} (replay: SPECPIPE_FUZZ_SEED=${SEED} node --test dist/test/fuzz/parsers.test.js)\n${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

// ---- mutations shared by the binary formats ----

/** Flips, overwrites, truncates or extends a valid file: most inputs then fail deep in the parser. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.option(fc.nat()),
      fc.uint8Array({ maxLength: 16 }),
    )
    .map(([bytes, edits, cut, tail]) => {
      const out = Uint8Array.from(bytes);
      for (const [at, v] of edits) if (out.length > 0) out[at % out.length] = v;
      const kept = cut === null ? out : out.subarray(0, cut % (out.length + 1));
      const joined = new Uint8Array(kept.length + tail.length);
      joined.set(kept);
      joined.set(tail, kept.length);
      return joined;
    });
}

const u32le = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

// ---- safetensors ----

const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];
const dimension = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer(), fc.double(), fc.constant(2 ** 53), fc.constant(-1));
const headerValue = fc.oneof(
  fc.record({
    dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.string({ maxLength: 4 })),
    shape: fc.oneof(fc.array(dimension, { maxLength: 4 }), fc.anything()),
    data_offsets: fc.oneof(fc.tuple(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 })), fc.anything()),
  }),
  fc.anything(),
);
const safetensorsHeader = fc.tuple(
  fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__metadata__', '__proto__', 'constructor')), headerValue, {
    maxKeys: 4,
  }),
  fc.boolean(),
  fc.integer({ min: -8, max: 8 }),
  fc.uint8Array({ maxLength: 64 }),
);
const structuredSafetensors = safetensorsHeader.map(([header, exactLength, skew, data]) => {
  const json = enc.encode(JSON.stringify(header));
  const n = exactLength ? json.length : Math.max(0, json.length + skew);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(n), true);
  return concat(len, json, data);
});
const validSafetensors = fc
  .tuple(fc.constantFrom('F32', 'F64', 'I64', 'U8', 'F16'), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }))
  .map(([dtype, shape]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const data =
      dtype === 'F32'
        ? new Float32Array(count)
        : dtype === 'F64'
          ? new Float64Array(count)
          : dtype === 'I64'
            ? new BigInt64Array(count)
            : dtype === 'F16'
              ? new Uint16Array(count)
              : new Uint8Array(count);
    return encodeSafetensors({ t: { dtype, shape, data } as never }, { k: 'v' });
  });

test(`safetensors headers: ${RUNS} generated inputs parse or are refused naming the file`, { timeout: 60_000 }, () => {
  const path = '/fuzz/model.safetensors';
  check(
    'safetensors',
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 128 }), structuredSafetensors, mutated(validSafetensors)), (bytes) =>
      parsesOrNames(() => decodeSafetensors(bytes, path), path),
    ),
  );
});

// ---- .npy ----

const npyHeaderText = fc
  .tuple(
    fc.oneof(fc.constantFrom('<f8', '<f4', '>f8', '|f8', '=f4', '<i4', '<f2'), fc.string({ maxLength: 5 })),
    fc.oneof(fc.constantFrom('True', 'False'), fc.string({ maxLength: 5 })),
    fc.oneof(
      fc
        .array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer(), fc.constant(2 ** 40)), { maxLength: 3 })
        .map((d) => d.join(', ')),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('1e400, 2', '-1, 2', '2,', ' , ', '0x10, 1'),
    ),
  )
  .map(([descr, fortran, shape]) => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (${shape}), }`);
const structuredNpy = fc
  .tuple(fc.integer({ min: 0, max: 4 }), npyHeaderText, fc.boolean(), fc.nat({ max: 70_000 }), fc.uint8Array({ maxLength: 64 }))
  .map(([major, header, exact, len, data]) => {
    const h = enc.encode(header);
    const declared = exact ? h.length : len;
    const lenBytes = major === 1 ? u32le(declared).subarray(0, 2) : u32le(declared);
    return concat(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]), lenBytes, h, data);
  });
const validNpy = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.boolean())
  .map(([r, c, fortran, float32]) => encodeNpyMatrix(new Float64Array(r * c), r, c, { fortran, float32 }));

test(`.npy headers: ${RUNS} generated inputs parse or are refused naming the file`, { timeout: 60_000 }, () => {
  const path = '/fuzz/matrix.npy';
  check(
    'npy',
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 128 }), structuredNpy, mutated(validNpy)), (bytes) =>
      parsesOrNames(() => parseNpyMatrix(bytes, path), path),
    ),
  );
});

// ---- IDX ----

const structuredIdx = fc
  .tuple(
    fc.oneof(fc.constantFrom(IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, 0x00000800, 0x000008ff), fc.nat()),
    fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.nat(), fc.constant(0xffffffff)), { maxLength: 4 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.boolean(),
  )
  .map(([magic, dims, data, gzip]) => {
    const head = new Uint8Array(4 + 4 * dims.length);
    const v = new DataView(head.buffer);
    v.setUint32(0, magic >>> 0, false);
    dims.forEach((d, i) => v.setUint32(4 + 4 * i, d >>> 0, false));
    const bytes = concat(head, data);
    return gzip ? new Uint8Array(gzipSync(bytes)) : bytes;
  });
const validIdx = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.boolean()).map(([n, side, gzip]) => {
  const head = new Uint8Array(16);
  const v = new DataView(head.buffer);
  v.setUint32(0, IDX_IMAGES_MAGIC, false);
  v.setUint32(4, n, false);
  v.setUint32(8, side, false);
  v.setUint32(12, side, false);
  const bytes = concat(head, new Uint8Array(n * side * side));
  return gzip ? new Uint8Array(gzipSync(bytes)) : bytes;
});

test(`IDX headers: ${RUNS} generated inputs parse or are refused naming the file`, { timeout: 60_000 }, () => {
  const path = '/fuzz/train-images-idx3-ubyte.gz';
  check(
    'idx',
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 128 }), structuredIdx, mutated(validIdx)), (bytes) =>
      parsesOrNames(() => decodeIdx(bytes, path, IDX_IMAGES_MAGIC), path),
    ),
  );
});

// ---- --set overrides ----

const PIPELINE = `name: fuzz
seed: 0
stages:
  data:
    uses: data/mnist
    with: { train_per_class: 5, test_per_class: 2 }
  train:
    uses: train/sgd
    needs: [data]
    matrix: { lr: [0.1, 0.2] }
    with:
      model: { kind: mlp, hidden: [8] }
      epochs: 1
`;
const segment = fc.oneof(
  fc.constantFrom(
    'data',
    'train',
    'with',
    'matrix',
    'needs',
    'gather',
    'uses',
    'seed',
    'name',
    'lr',
    'epochs',
    'model',
    'hidden',
  ),
  fc.constantFrom('', '__proto__', 'constructor', '0', '-1', ' ', '*', '&a'),
  fc.string({ maxLength: 6 }),
);
const yamlValue = fc.oneof(
  fc.constantFrom(
    '5',
    '0.1',
    '.inf',
    '-.inf',
    '.nan',
    '[',
    '{',
    '[1, 2]',
    '{a: 1}',
    '*a',
    '&a 1',
    '!!binary x',
    '!tag 1',
    '~',
    'null',
    '"',
    "'",
    '- 1',
    ': :',
    '1e400',
    '0x10',
    '',
  ),
  fc.string({ maxLength: 12 }),
  fc.json({ maxDepth: 2 }),
);
const assignment = fc.oneof(
  fc.tuple(fc.array(segment, { minLength: 1, maxLength: 5 }), yamlValue).map(([path, value]) => `${path.join('.')}=${value}`),
  fc.string({ maxLength: 20 }),
);

test(`--set overrides: ${RUNS} generated assignments apply or are refused naming the assignment`, { timeout: 60_000 }, () => {
  check(
    '--set',
    fc.property(assignment, (set) => {
      const t0 = performance.now();
      try {
        loadPipeline('fuzz.yaml', { source: PIPELINE, overrides: [set] });
      } catch (e) {
        if (!isSpecpipeError(e))
          throw new Error(`not a SpecpipeError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        // A --set error names the assignment; a schema error points into fuzz.yaml and says "(from --set …)".
        if (!e.message.includes('--set') && !e.message.includes('fuzz.yaml'))
          throw new Error(`the message names neither --set nor the file: ${e.message}`);
      }
      const ms = performance.now() - t0;
      if (ms > BOUND_MS * 4) throw new Error(`took ${ms.toFixed(0)} ms`);
    }),
  );
});

test('the property checker itself rejects a bare TypeError and a message without the file', () => {
  assert.throws(() => parsesOrNames(() => (undefined as unknown as { x: number }).x, 'f'), /not a SpecpipeError: TypeError/);
  assert.doesNotThrow(() => parsesOrNames(() => 1, 'f'));
});

test('a safetensors tensor or metadata key named "__proto__" is an ordinary entry (no prototype change)', () => {
  const header = enc.encode('{"__metadata__":{"__proto__":"m"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}');
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(header.length), true);
  const r = decodeSafetensors(concat(len, header, Uint8Array.from([7])), '/fuzz/proto.safetensors');
  assert.deepEqual(Object.keys(r.tensors), ['__proto__']);
  assert.equal(Object.getPrototypeOf(r.tensors), Object.prototype);
  assert.deepEqual([...(Object.getOwnPropertyDescriptor(r.tensors, '__proto__')?.value.data as Uint8Array)], [7]);
  assert.equal(Object.getOwnPropertyDescriptor(r.metadata, '__proto__')?.value, 'm');
});
