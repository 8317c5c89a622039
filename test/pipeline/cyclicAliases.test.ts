/**
 * An alias inside its own anchor (`&a [*a]`) makes data that contains itself: copying it never
 * ended and validation ran out of memory (found by test/fuzz/pipelines.test.ts). It is now a
 * positioned YAML error at the alias, in the file and in a --set value; shared aliases still expand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPipeline } from '../../src/pipeline/loadPipeline.js';
import { PipelineError } from '../../src/pipeline/diagnostic.js';
import { CyclicDataError, plainData } from '../../src/pipeline/parseSource.js';
import { isSpecpipeError } from '../../src/util/errors.js';
import { registerBuiltinStageKinds } from '../../src/stages/builtin.js';

registerBuiltinStageKinds();

const HEAD = 'name: t\nstages:\n  a:\n    uses: data/mnist\n';

function refusal(source: string, overrides: string[] = []): Error {
  try {
    loadPipeline('p.yaml', { source, overrides });
  } catch (e) {
    assert.ok(isSpecpipeError(e), String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

test('a list or a map holding its own alias is refused at the alias', () => {
  const list = refusal(`name: t\nseed: &a [*a]\nstages: {}\n`);
  assert.ok(list instanceof PipelineError);
  assert.deepEqual(list.diagnostics, [
    {
      file: 'p.yaml',
      line: 2,
      column: 11,
      length: 2,
      message: 'YAML error: *a refers to a node that contains it (the data would be infinite)',
    },
  ]);
  const map = refusal(`${HEAD}    with: &w { train_per_class: 1, more: { inner: *w } }\n`);
  assert.ok(map instanceof PipelineError);
  assert.equal(map.diagnostics[0]?.line, 5);
  assert.equal(map.diagnostics[0]?.column, 51);
  assert.match(map.message, /\*w refers to a node that contains it/);
});

test('a --set value holding its own alias is a one-line --set error', () => {
  const e = refusal(`${HEAD}`, ['a.with.train_per_class=&x [1, *x]']);
  assert.equal(e.message, '--set a.with.train_per_class=&x [1, *x]: the value contains itself (an alias inside its own anchor)');
});

test('an anchor used twice (shared, not cyclic) still expands to two copies', () => {
  const loaded = loadPipeline('p.yaml', {
    source: `${HEAD}    matrix: { train_per_class: &n [1, 2], test_per_class: *n }\n`,
  });
  const m = loaded.spec.stages['a']?.matrix;
  assert.deepEqual(m?.axes['train_per_class'], [1, 2]);
  assert.deepEqual(m?.axes['test_per_class'], [1, 2]);
  assert.notEqual(m?.axes['train_per_class'], m?.axes['test_per_class']);
});

test('plainData throws CyclicDataError on a cycle, copies a diamond', () => {
  const a: unknown[] = [];
  a.push({ x: a });
  assert.throws(() => plainData(a), CyclicDataError);
  const shared = { v: 1 };
  assert.deepEqual(JSON.parse(JSON.stringify(plainData({ l: shared, r: [shared] }))), { l: { v: 1 }, r: [{ v: 1 }] });
});

test('nesting too deep for the parser is a positioned "nested too deeply", not a stack-overflow message', () => {
  const e = refusal(`name: t\nseed: ${'['.repeat(5000)}${']'.repeat(5000)}\nstages: {}\n`);
  assert.ok(e instanceof PipelineError);
  assert.equal(e.diagnostics[0]?.line, 2);
  assert.match(e.diagnostics[0]?.message ?? '', /^YAML (syntax )?error: the document is nested too deeply$/);
});
