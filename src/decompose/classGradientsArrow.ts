import { readFileSync } from 'node:fs';
import { encodeArrowTable, decodeArrowTable, type ArrowColumn } from '../store/arrowFile.js';
import { SpecpipeError } from '../util/errors.js';
import type { ClassGradients } from './classGradients.js';

/**
 * Arrow layout of stored class gradients (the `decompose/class-gradients` artifact):
 * P rows, one float64 column "s:c:c'" per pair holding s_cc' = P_cc' g_cc' (c, c' are the real
 * class labels), and schema metadata `specpipe.classGradients` = JSON of
 * { numClasses, classes, paramCount, sampleCount, classCounts, pairMass }.
 */
export const CLASS_GRADIENTS_METADATA_KEY = 'specpipe.classGradients';

export function pairColumnName(c: number, cp: number): string {
  return `s:${c}:${cp}`;
}

export function encodeClassGradients(cg: ClassGradients): Uint8Array {
  const S = cg.classes.length;
  const columns: Record<string, ArrowColumn> = {};
  for (let a = 0; a < S; a++)
    for (let b = 0; b < S; b++) columns[pairColumnName(cg.classes[a]!, cg.classes[b]!)] = cg.pairSums[a * S + b]!;
  const meta = {
    numClasses: cg.numClasses,
    classes: cg.classes,
    paramCount: cg.paramCount,
    sampleCount: cg.sampleCount,
    classCounts: Array.from(cg.classCounts),
    pairMass: Array.from(cg.pairMass),
  };
  return encodeArrowTable(columns, { [CLASS_GRADIENTS_METADATA_KEY]: JSON.stringify(meta) });
}

export function decodeClassGradients(bytes: Uint8Array, path = '<memory>'): ClassGradients {
  const { columns, metadata } = decodeArrowTable(bytes, path);
  const raw = metadata[CLASS_GRADIENTS_METADATA_KEY];
  if (raw === undefined)
    throw new SpecpipeError(
      'class-gradients-metadata',
      `${path}: Arrow file lacks the "${CLASS_GRADIENTS_METADATA_KEY}" metadata of a class-gradients artifact`,
    );
  const meta = JSON.parse(raw) as {
    numClasses: number;
    classes: number[];
    paramCount: number;
    sampleCount: number;
    classCounts: number[];
    pairMass: number[];
  };
  const S = meta.classes.length;
  const pairSums: Float64Array[] = [];
  for (let a = 0; a < S; a++) {
    for (let b = 0; b < S; b++) {
      const name = pairColumnName(meta.classes[a]!, meta.classes[b]!);
      const col = columns[name];
      if (!(col instanceof Float64Array) || col.length !== meta.paramCount) {
        throw new SpecpipeError(
          'class-gradients-column',
          `${path}: column "${name}" missing or not float64 of length P = ${meta.paramCount}`,
        );
      }
      pairSums.push(col);
    }
  }
  return {
    numClasses: meta.numClasses,
    classes: meta.classes,
    paramCount: meta.paramCount,
    sampleCount: meta.sampleCount,
    classCounts: Float64Array.from(meta.classCounts),
    pairMass: Float64Array.from(meta.pairMass),
    pairSums,
  };
}

/** Reads a class-gradients Arrow file from disk. */
export function readClassGradients(path: string): ClassGradients {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SpecpipeError(
      'class-gradients-missing',
      `${path}: cannot read class gradients (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  return decodeClassGradients(bytes, path);
}
