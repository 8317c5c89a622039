import { readFileSync } from 'node:fs';
import {
  DataType,
  Float32,
  Float64,
  Int32,
  Precision,
  RecordBatch,
  Schema,
  Field,
  Struct,
  Table,
  Utf8,
  makeData,
  makeVector,
  vectorFromArray,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';
import { writeFileAtomic } from '../util/atomicWrite.js';
import { SpecpipeError } from '../util/errors.js';

/** A column of an artifact table: numeric typed arrays keep their type, strings become Utf8. */
export type ArrowColumn = Float64Array | Float32Array | Int32Array | readonly string[];

export interface ArrowTableData {
  readonly columns: Record<string, ArrowColumn>;
  /** Schema-level key/value metadata (e.g. units, the operator a spectrum belongs to). */
  readonly metadata: Record<string, string>;
}

/** Encodes equal-length columns as an Arrow IPC file (the on-disk format of every array artifact). */
export function encodeArrowTable(columns: Record<string, ArrowColumn>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(columns);
  const lengths = new Set(names.map((n) => columns[n]!.length));
  if (lengths.size > 1) {
    const desc = names.map((n) => `${n}: ${columns[n]!.length}`).join(', ');
    throw new SpecpipeError('arrow-column-lengths', `Arrow table columns must have equal lengths, received ${desc}`);
  }
  const fields: Field[] = [];
  const vectors = names.map((n) => {
    const c = columns[n]!;
    if (c instanceof Float64Array) {
      fields.push(new Field(n, new Float64(), false));
      return makeVector(c);
    }
    if (c instanceof Float32Array) {
      fields.push(new Field(n, new Float32(), false));
      return makeVector(c);
    }
    if (c instanceof Int32Array) {
      fields.push(new Field(n, new Int32(), false));
      return makeVector(c);
    }
    fields.push(new Field(n, new Utf8(), false));
    return vectorFromArray(c as string[], new Utf8());
  });
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const rows = names.length === 0 ? 0 : columns[names[0]!]!.length;
  // A zero-row table is one empty record batch (Table(schema, vectors) rejects empty vectors).
  const table =
    rows === 0
      ? new Table([
          new RecordBatch(
            schema,
            makeData({
              type: new Struct(fields),
              length: 0,
              nullCount: 0,
              children: fields.map((f) => makeData({ type: f.type, length: 0 })),
            }),
          ),
        ])
      : new Table(schema, Object.fromEntries(names.map((n, i) => [n, vectors[i]!])));
  return tableToIPC(table, 'file');
}

/** Decodes an Arrow IPC file (or stream) into plain typed-array columns. */
export function decodeArrowTable(bytes: Uint8Array, path = '<memory>'): ArrowTableData {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new SpecpipeError(
      'arrow-corrupt',
      `${path}: not a readable Arrow IPC file (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const columns: Record<string, ArrowColumn> = {};
  for (const field of table.schema.fields) {
    const vec = table.getChild(field.name);
    if (vec === null) continue;
    const type: DataType = field.type;
    if (DataType.isUtf8(type)) columns[field.name] = Array.from(vec.toArray() as ArrayLike<string>);
    else if (DataType.isFloat(type) && type.precision === Precision.SINGLE)
      columns[field.name] = Float32Array.from(vec.toArray() as ArrayLike<number>);
    else if (DataType.isFloat(type)) columns[field.name] = Float64Array.from(vec.toArray() as ArrayLike<number>);
    else if (DataType.isInt(type) && type.bitWidth === 32 && type.isSigned)
      columns[field.name] = Int32Array.from(vec.toArray() as ArrayLike<number>);
    else columns[field.name] = Float64Array.from(Array.from(vec.toArray() as ArrayLike<number | bigint>, Number));
  }
  return { columns, metadata: Object.fromEntries(table.schema.metadata) };
}

export function writeArrowFile(path: string, columns: Record<string, ArrowColumn>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeArrowTable(columns, metadata));
}

export function readArrowFile(path: string): ArrowTableData {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SpecpipeError('arrow-missing', `${path}: cannot read Arrow file (${e instanceof Error ? e.message : String(e)})`);
  }
  return decodeArrowTable(bytes, path);
}
