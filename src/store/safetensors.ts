import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { SpecpipeError } from '../util/errors.js';

/**
 * The safetensors format (huggingface/safetensors, "Format" section of its README):
 *
 *   bytes [0, 8)        N, an unsigned 64-bit little-endian integer: the size of the header
 *   bytes [8, 8 + N)    a UTF-8 JSON object
 *                         { "<name>": { "dtype": "F32", "shape": [d0, d1, …], "data_offsets": [begin, end] }, …,
 *                           "__metadata__": { "<key>": "<string value>", … } }
 *                       padded with spaces (0x20) so that 8 + N is a multiple of 8
 *   bytes [8 + N, end)  the byte buffer; `data_offsets` are relative to its start, tensors are
 *                       little-endian, row-major (C order), and together cover the buffer with no gap or overlap.
 *
 * This is the checkpoint format PyTorch reads with `safetensors.torch.load_file`.
 */
export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * One tensor: `data` is the row-major element array. F16 and BF16 are carried as their raw 16-bit patterns
 * (Uint16Array; convert with `toFloat32`), I64 as BigInt64Array, U8 and BOOL as Uint8Array.
 */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;
}

export interface SafetensorsContents {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Bytes per element of each dtype. */
export const SAFE_DTYPE_SIZE: Readonly<Record<SafeDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const SAFE_DTYPES = Object.keys(SAFE_DTYPE_SIZE) as SafeDType[];

type TypedCtor = { new (buffer: ArrayBuffer): SafeTensor['data']; readonly name: string };

/** The typed array class that carries each dtype. */
const DTYPE_ARRAY: Readonly<Record<SafeDType, TypedCtor>> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

function isSafeDType(s: unknown): s is SafeDType {
  return typeof s === 'string' && (SAFE_DTYPES as string[]).includes(s);
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Encodes tensors and string metadata as safetensors bytes. Layout is deterministic: tensors are placed by
 * decreasing element size (so every tensor starts at an offset aligned to its element size) and then by name;
 * the JSON header lists `__metadata__` first, then the tensors in buffer order.
 */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === '__metadata__')
      throw new SpecpipeError('safetensors-name', 'safetensors tensor name "__metadata__" is reserved for the metadata table');
    const t = tensors[name]!;
    if (!isSafeDType(t.dtype)) {
      throw new SpecpipeError(
        'safetensors-dtype',
        `safetensors tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}, expected one of ${SAFE_DTYPES.join(', ')}`,
      );
    }
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new SpecpipeError(
        'safetensors-shape',
        `safetensors tensor "${name}": shape must be a list of non-negative integers, received ${JSON.stringify(t.shape)}`,
      );
    }
    const ctor = DTYPE_ARRAY[t.dtype];
    if (!(t.data instanceof ctor)) {
      throw new SpecpipeError(
        'safetensors-data-type',
        `safetensors tensor "${name}": dtype ${t.dtype} is carried by a ${ctor.name}, received a ${t.data.constructor.name}`,
      );
    }
    if (t.data.length !== elementCount(t.shape)) {
      throw new SpecpipeError(
        'safetensors-data-length',
        `safetensors tensor "${name}": shape ${fmtShape(t.shape)} has ${elementCount(t.shape)} elements, received ${t.data.length}`,
      );
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      throw new SpecpipeError(
        'safetensors-metadata',
        `safetensors metadata values must be strings, received ${typeof v} for key "${k}"`,
      );
  }
  const order = [...names].sort((a, b) => {
    const sa = SAFE_DTYPE_SIZE[tensors[a]!.dtype];
    const sb = SAFE_DTYPE_SIZE[tensors[b]!.dtype];
    return sa !== sb ? sb - sa : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of order) {
    const t = tensors[name]!;
    const end = offset + t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const name of order) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/**
 * Decodes safetensors bytes, checking every rule of the format. `path` names the source in error messages.
 * Tensor data are copied into fresh, aligned typed arrays (independent of `bytes`).
 */
export function decodeSafetensors(bytes: Uint8Array, path = '<safetensors bytes>'): SafetensorsContents {
  const fail = (reason: string, msg: string): never => {
    throw new SpecpipeError(reason, `${path}: ${msg}`);
  };
  if (bytes.length < 8)
    fail(
      'safetensors-truncated',
      `not a safetensors file: expected an 8-byte header length, found a file of ${bytes.length} bytes`,
    );
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    fail(
      'safetensors-header-length',
      `safetensors header length is ${n64} bytes, beyond the file size (${bytes.length - 8} bytes follow the 8-byte length prefix)`,
    );
  }
  const n = Number(n64);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(8, 8 + n));
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    // V8's message quotes the text: give the position only (the file may be any file, its bytes are not shown).
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    fail(
      'safetensors-header-json',
      `safetensors header (${n} bytes) is not valid JSON${at !== undefined ? ` (at byte ${8 + Number(at)})` : ''}; the header's bytes are not shown`,
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(
      'safetensors-header-json',
      `safetensors header must be a JSON object, found ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}`,
    );
  }
  const h = header as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  if ('__metadata__' in h) {
    const m = h.__metadata__;
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      fail('safetensors-metadata', `"__metadata__" must be an object of strings, found ${JSON.stringify(m)}`);
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (typeof v !== 'string')
        fail('safetensors-metadata', `"__metadata__" value of "${k}" must be a string, found ${JSON.stringify(v)}`);
      // Own properties even for "__proto__" (plain assignment would set the prototype instead).
      Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  const bufferStart = 8 + n;
  const bufferLength = bytes.length - bufferStart;
  const entries: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    if (typeof info !== 'object' || info === null)
      fail('safetensors-entry', `tensor "${name}": expected {dtype, shape, data_offsets}, found ${JSON.stringify(info)}`);
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (!isSafeDType(dtype))
      fail(
        'safetensors-dtype',
        `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}, expected one of ${SAFE_DTYPES.join(', ')}`,
      );
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
      fail(
        'safetensors-shape',
        `tensor "${name}": shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`,
      );
    }
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      offs.some((d) => !Number.isSafeInteger(d) || (d as number) < 0) ||
      (offs[0] as number) > (offs[1] as number)
    ) {
      fail(
        'safetensors-offsets',
        `tensor "${name}": data_offsets must be [begin, end] with 0 ≤ begin ≤ end, found ${JSON.stringify(offs)}`,
      );
    }
    const [begin, end] = offs as [number, number];
    const expected = elementCount(shape as number[]) * SAFE_DTYPE_SIZE[dtype as SafeDType];
    if (end - begin !== expected) {
      fail(
        'safetensors-byte-length',
        `tensor "${name}": dtype ${dtype as string} (${SAFE_DTYPE_SIZE[dtype as SafeDType]} bytes) × shape ${fmtShape(shape as number[])} needs ${expected} bytes, found data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
      );
    }
    entries.push({ name, dtype: dtype as SafeDType, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const e of entries) {
    if (e.begin !== expectedBegin) {
      const what = e.begin < expectedBegin ? 'overlaps the previous tensor' : 'leaves a gap after the previous tensor';
      fail(
        'safetensors-offsets',
        `tensor "${e.name}": data_offsets are not contiguous: expected begin ${expectedBegin}, found [${e.begin}, ${e.end}] (${what})`,
      );
    }
    expectedBegin = e.end;
  }
  if (expectedBegin !== bufferLength) {
    fail(
      'safetensors-offsets',
      `tensors cover ${expectedBegin} bytes of the data buffer, but the buffer after the header has ${bufferLength} bytes`,
    );
  }
  const tensors: Record<string, SafeTensor> = {};
  for (const e of entries) {
    // Uint8Array.prototype.slice copies (Buffer#slice would return a view into a shared pool).
    const copy = Uint8Array.prototype.slice.call(bytes, bufferStart + e.begin, bufferStart + e.end);
    const tensor: SafeTensor = { dtype: e.dtype, shape: e.shape, data: new DTYPE_ARRAY[e.dtype](copy.buffer) };
    Object.defineProperty(tensors, e.name, { value: tensor, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

/** Writes a safetensors file atomically (temporary sibling + rename). */
export function writeSafetensors(path: string, tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a safetensors file; errors name the file. */
export function readSafetensors(path: string): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SpecpipeError(
      'safetensors-missing',
      `${path}: cannot read safetensors file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return decodeSafetensors(bytes, path);
}

/** IEEE 754 binary16 bit pattern → number (exact). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → IEEE 754 binary16 bit pattern, rounding to nearest even (as `torch.Tensor.half()`). */
export function numberToF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // ≥ max half + ½ ulp rounds to infinity
  if (a < 2 ** -14) {
    // subnormal: units of 2^-24, round half to even
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  const m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) return sign | ((e + 16) << 10);
  return sign | ((e + 15) << 10) | m;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  if (r > 0.5) return f + 1;
  if (r < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** number → bfloat16 bit pattern (upper 16 bits of the float32, rounded to nearest even). */
export function numberToBF16Bits(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  if (Number.isNaN(x)) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts any tensor to float32 values: F16/BF16 decoded from their bit patterns, integers and BOOL cast. */
export function toFloat32(t: SafeTensor): Float32Array {
  const d = t.data;
  if (t.dtype === 'F32') return Float32Array.from(d as Float32Array);
  if (t.dtype === 'BF16') {
    const bits = new Uint32Array(d.length);
    for (let i = 0; i < d.length; i++) bits[i] = ((d as Uint16Array)[i]! << 16) >>> 0;
    return new Float32Array(bits.buffer);
  }
  const out = new Float32Array(d.length);
  if (t.dtype === 'F16') {
    for (let i = 0; i < d.length; i++) out[i] = f16BitsToNumber((d as Uint16Array)[i]!);
  } else if (t.dtype === 'I64') {
    for (let i = 0; i < d.length; i++) out[i] = Number((d as BigInt64Array)[i]!);
  } else {
    for (let i = 0; i < d.length; i++) out[i] = (d as Float64Array)[i]!;
  }
  return out;
}
