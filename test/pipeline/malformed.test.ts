import { test } from 'node:test';
import assert from 'node:assert/strict';
import './fixtures/testStages.js';
import { loadPipeline } from '../../src/pipeline/loadPipeline.js';
import { buildPlan } from '../../src/pipeline/plan.js';
import { PipelineError } from '../../src/pipeline/diagnostic.js';

function check(source: string): string {
  try {
    buildPlan(loadPipeline('bad.yaml', { source }), { backendId: 'cpu' });
  } catch (e) {
    if (e instanceof PipelineError) return e.message;
    throw e;
  }
  return 'OK';
}

const cases: { name: string; source: string; message: string }[] = [
  {
    name: 'bad YAML',
    source: 'name: t\nstages:\n  a: {uses: test/const\n  b: 1\n',
    message: [
      'bad.yaml:4:3: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
      '    b: 1',
      '    ^',
    ].join('\n'),
  },
  {
    name: 'wrong type',
    source: 'name: t\nstages:\n  a:\n    uses: test/const\n    with: { value: ten }\n',
    message: [
      'bad.yaml:5:20: stages.a.with.value must be a number, received "ten"',
      '      with: { value: ten }',
      '                     ^^^',
    ].join('\n'),
  },
  {
    name: 'unknown key',
    source: 'name: t\nstages:\n  a:\n    uses: test/const\n    with: { value: 1 }\n  b:\n    uses: test/sum\n    need: [a]\n',
    message: ['bad.yaml:8:5: unknown key "need" in stages.b; did you mean "needs"?', '      need: [a]', '      ^^^^'].join('\n'),
  },
  {
    name: 'unknown param',
    source: 'name: t\nstages:\n  a:\n    uses: test/const\n    with:\n      value: 1\n      sise: 3\n',
    message: [
      'bad.yaml:7:7: unknown key "sise" in stages.a.with (params of test/const); did you mean "size"?',
      '        sise: 3',
      '        ^^^^',
    ].join('\n'),
  },
  {
    name: 'cycle',
    source:
      'name: t\nstages:\n  a:\n    uses: test/sum\n    needs: [c]\n  b:\n    uses: test/sum\n    needs: [a]\n  c:\n    uses: test/sum\n    needs: [b]\n',
    message: [
      'bad.yaml:8:13: needs form a cycle: a → c → b → a (each stage needs the next)',
      '      needs: [a]',
      '              ^',
    ].join('\n'),
  },
  {
    name: 'missing needs',
    source:
      'name: t\nstages:\n  data:\n    uses: test/const\n    with: { value: 1 }\n  b:\n    uses: test/sum\n    needs: [dta]\n',
    message: [
      'bad.yaml:8:13: stages.b.needs names an unknown stage "dta"; did you mean "data"?',
      '      needs: [dta]',
      '              ^^^',
    ].join('\n'),
  },
  {
    name: 'bad matrix (empty axis)',
    source: 'name: t\nstages:\n  a:\n    uses: test/const\n    matrix:\n      value: []\n',
    message: [
      'bad.yaml:6:14: stages.a.matrix.value must list at least 1 value, received []',
      '        value: []',
      '               ^^',
    ].join('\n'),
  },
  {
    name: 'bad matrix value type',
    source: 'name: t\nstages:\n  a:\n    uses: test/const\n    matrix:\n      value: [1, two]\n',
    message: [
      'bad.yaml:6:18: stages.a.matrix.value[1] (matrix value for stages.a.with.value) must be a number, received "two"',
      '        value: [1, two]',
      '                   ^^^',
    ].join('\n'),
  },
  {
    name: 'matrix exclude names no axis',
    source: 'name: t\nstages:\n  a:\n    uses: test/const\n    matrix:\n      value: [1, 2]\n      exclude: [{ valu: 1 }]\n',
    message: [
      'bad.yaml:7:19: stages.a.matrix.exclude[0] names "valu", which is not a matrix axis; did you mean "value"?',
      '        exclude: [{ valu: 1 }]',
      '                    ^^^^',
    ].join('\n'),
  },
  {
    name: 'unknown stage kind',
    source: 'name: t\nstages:\n  a:\n    uses: test/cosnt\n',
    message: [
      'bad.yaml:4:11: unknown stage kind "test/cosnt"; did you mean "test/const"?',
      '      uses: test/cosnt',
      '            ^^^^^^^^^^',
    ].join('\n'),
  },
  {
    name: 'custom tag',
    source: 'name: t\nstages:\n  a:\n    uses: !!js/function test/const\n',
    message: [
      'bad.yaml:4:11: YAML syntax error: Unresolved tag: tag:yaml.org,2002:js/function (pipeline files hold plain data only: no custom tags)',
      '      uses: !!js/function test/const',
      '            ^^^^^^^^^^^^^',
    ].join('\n'),
  },
  {
    name: 'missing required uses',
    source: 'name: t\nstages:\n  a:\n    with: { value: 1 }\n',
    message: ['bad.yaml:3:3: stages.a is missing the required key "uses"', '    a:', '    ^'].join('\n'),
  },
];

for (const c of cases) {
  test(`malformed pipeline: ${c.name}`, () => {
    const got = check(c.source);
    assert.equal(got, c.message);
  });
}

test('a bad --set value: positioned at what it replaced, naming the --set', () => {
  let message = 'OK';
  try {
    const loaded = loadPipeline('bad.yaml', {
      source: 'name: t\nstages:\n  a:\n    uses: test/const\n    with:\n      value: 1\n',
      overrides: ['a.with.value=abc'],
    });
    buildPlan(loaded, { backendId: 'cpu' });
  } catch (e) {
    if (!(e instanceof PipelineError)) throw e;
    message = e.message;
  }
  assert.equal(
    message,
    [
      'bad.yaml:6:7: stages.a.with.value must be a number, received "abc" (from --set a.with.value=abc)',
      '        value: 1',
      '        ^^^^^^^^',
    ].join('\n'),
  );
});
