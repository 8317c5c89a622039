import { readFileSync } from 'node:fs';
import { readArrowFile } from '../store/arrowFile.js';
import { SpecpipeError } from '../util/errors.js';

/** A dense matrix read from disk, row-major float64. */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major entries. */
  readonly data: Float64Array;
}

function fail(path: string, what: string): never {
  throw new SpecpipeError('matrix-file', `${path}: ${what}`);
}

/**
 * Parses a NumPy .npy file (format versions 1.0, 2.0, 3.0) holding a 2-D float array:
 * dtype '<f8' or '<f4' (also '|f8'-style and big-endian '>f8'/'>f4'), C or Fortran order.
 * Errors name the file and what was wrong with it.
 */
export function parseNpyMatrix(bytes: Uint8Array, path = '<memory>'): DenseMatrix {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail(path, 'not a .npy file (missing the \\x93NUMPY magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(path, 'truncated .npy header');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else fail(path, `unsupported .npy format version ${major}.${bytes[7]} (expected 1.0, 2.0 or 3.0)`);
  if (headerStart + headerLen > bytes.length) fail(path, `truncated .npy header (declares ${headerLen} bytes)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail(
      path,
      `malformed .npy header (${headerLen} bytes without 'descr', 'fortran_order' and 'shape' entries; its bytes are not shown)`,
    );
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.length !== 2 || shape.some((d) => !Number.isInteger(d) || d < 0))
    fail(path, `expected a 2-D array, received shape (${shapeText.trim()})`);
  const [rows, cols] = shape as [number, number];
  const m = /^([<>|=])f([48])$/.exec(descr);
  if (m === null) fail(path, `unsupported dtype '${descr}' (expected '<f8' or '<f4')`);
  const little = m[1] !== '>';
  const itemSize = Number(m[2]);
  const offset = headerStart + headerLen;
  const count = rows * cols;
  if (bytes.length - offset < count * itemSize)
    fail(
      path,
      `data truncated: shape (${rows}, ${cols}) of '${descr}' needs ${count * itemSize} bytes, file has ${bytes.length - offset}`,
    );
  const raw = new Float64Array(count);
  for (let i = 0; i < count; i++)
    raw[i] = itemSize === 8 ? view.getFloat64(offset + 8 * i, little) : view.getFloat32(offset + 4 * i, little);
  if (fortran === 'False') return { rows, cols, data: raw };
  const data = new Float64Array(count);
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) data[i * cols + j] = raw[j * rows + i]!;
  return { rows, cols, data };
}

/**
 * Reads a dense matrix for `specpipe spectrum --matrix`:
 * - `.npy`: see parseNpyMatrix;
 * - `.arrow`: an Arrow IPC file whose n columns (Float64 or Float32, all of length n, in schema
 *   order) are the columns of the matrix; column names are ignored.
 */
export function readMatrixFile(path: string): DenseMatrix {
  if (path.endsWith('.npy')) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      fail(path, `cannot read file (${e instanceof Error ? e.message : String(e)})`);
    }
    return parseNpyMatrix(bytes, path);
  }
  if (path.endsWith('.arrow') || path.endsWith('.feather') || path.endsWith('.ipc')) {
    const t = readArrowFile(path);
    const names = Object.keys(t.columns);
    if (names.length === 0) fail(path, 'Arrow table has no columns');
    const cols = names.length;
    let rows = -1;
    for (const name of names) {
      const c = t.columns[name]!;
      if (!(c instanceof Float64Array || c instanceof Float32Array))
        fail(path, `column "${name}" is not Float64 or Float32 (matrix columns must be floating point)`);
      if (rows === -1) rows = c.length;
      else if (c.length !== rows) fail(path, `column "${name}" has length ${c.length}, expected ${rows} like the first column`);
    }
    const data = new Float64Array(rows * cols);
    names.forEach((name, j) => {
      const c = t.columns[name] as Float64Array | Float32Array;
      for (let i = 0; i < rows; i++) data[i * cols + j] = c[i]!;
    });
    return { rows, cols, data };
  }
  fail(path, 'unknown matrix file type (expected .npy or .arrow)');
}

/** Encodes a row-major float64 matrix as a .npy v1.0 file ('<f8', C order); used by tests and tools. */
export function encodeNpyMatrix(
  data: Float64Array,
  rows: number,
  cols: number,
  options: { fortran?: boolean; float32?: boolean } = {},
): Uint8Array {
  const descr = options.float32 === true ? '<f4' : '<f8';
  let header = `{'descr': '${descr}', 'fortran_order': ${options.fortran === true ? 'True' : 'False'}, 'shape': (${rows}, ${cols}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const item = options.float32 === true ? 4 : 8;
  const out = new Uint8Array(10 + header.length + rows * cols * item);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const off = 10 + header.length;
  for (let k = 0; k < rows * cols; k++) {
    const i = options.fortran === true ? k % rows : Math.floor(k / cols);
    const j = options.fortran === true ? Math.floor(k / rows) : k % cols;
    const v = data[i * cols + j]!;
    if (item === 8) view.setFloat64(off + 8 * k, v, true);
    else view.setFloat32(off + 4 * k, v, true);
  }
  return out;
}
