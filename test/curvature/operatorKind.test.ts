import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CURVATURE_OPERATORS,
  PIECE_OPERATORS,
  SPECTRUM_OPERATORS,
  isCurvatureKind,
  isPieceOperator,
  listInWords,
} from '../../src/curvature/operatorKind.js';

/** The operator names are written once in TypeScript; the JSON schema repeats them and must agree. */

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = import.meta.url.endsWith('.js') ? join(here, '..', '..', '..') : join(here, '..', '..');

test('spectrum-slq.schema.json: the operator enum equals SPECTRUM_OPERATORS (curvature operators, then pieces)', () => {
  const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'stages', 'spectrum-slq.schema.json'), 'utf8')) as {
    properties: { operator: { enum: string[]; default: string } };
  };
  assert.deepEqual(schema.properties.operator.enum, [...SPECTRUM_OPERATORS]);
  assert.ok(isCurvatureKind(schema.properties.operator.default));
});

test('the curvature operators and the pieces of G are disjoint and make up SPECTRUM_OPERATORS', () => {
  assert.deepEqual([...SPECTRUM_OPERATORS], [...CURVATURE_OPERATORS, ...PIECE_OPERATORS]);
  for (const k of CURVATURE_OPERATORS) assert.ok(isCurvatureKind(k) && !isPieceOperator(k), k);
  for (const k of PIECE_OPERATORS) assert.ok(isPieceOperator(k) && !isCurvatureKind(k), k);
  assert.equal(isCurvatureKind('fisher'), false);
  assert.equal(listInWords(CURVATURE_OPERATORS), 'hessian, ggn or residual');
});
