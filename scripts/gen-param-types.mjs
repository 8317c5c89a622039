// Generates the TypeScript params types from the JSON schemas, so params and defaults live once, in schemas/:
//   npm run gen:types                       (= node scripts/gen-param-types.mjs)
//   node scripts/gen-param-types.mjs --out DIR --editor-schema FILE   (test/params/generatedTypes.test.ts: into a temp dir)
//
// Writes
// - src/params/<file>.generated.ts for every schemas/stages/<file>.schema.json (type <Group><Name>Params, e.g. TrainSgdParams)
//   and src/params/model.generated.ts for schemas/model.schema.json (ModelSpecInput and one type per model kind);
// - schemas/pipeline.editor.schema.json: schemas/pipeline.schema.json with `with:` checked per `uses:` kind (if/then per
//   kind, pointing at a copy of the kind's params schema), for editors (`# yaml-language-server: $schema=…`). specpipe
//   itself validates with pipeline.schema.json and then each instance's params (matrix values merged into `with:`)
//   with the kind's schema in the plan, so its error messages stay those of one check each.
//
// Before json-schema-to-typescript (https://github.com/bcherny/json-schema-to-typescript) sees a schema, a copy of it is
// rewritten so that the types say what stage code receives:
// - a property with a `default` is required (ajv's useDefaults fills it in: no `??` fallbacks needed);
// - `$ref: ../model.schema.json` becomes `tsType: ModelSpecInput`, imported from model.generated.ts (one model type);
// - the model schema's dispatch (`if: {type: string}` then/else, `allOf` of `if: {kind: const K}` then `$ref` K) becomes
//   `anyOf` of the string and the kinds' object types (a union json-schema-to-typescript can print);
// - other local `$ref`s (shared field definitions) are inlined;
// - minItems / maxItems of lists (`items` one schema) are dropped: `number[]`, not `[number, number, ...number[]]`
//   (fixed-length tuples, `items` a list of schemas, stay tuples).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compile } from 'json-schema-to-typescript';
import * as prettier from 'prettier';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemasDir = join(root, 'schemas');
const { values: args } = parseArgs({
  options: { out: { type: 'string' }, 'editor-schema': { type: 'string' } },
});
const outDir = args.out ?? join(root, 'src', 'params');
const editorSchemaFile = args['editor-schema'] ?? join(schemasDir, 'pipeline.editor.schema.json');

const MODEL_FILE = 'model.schema.json';
const MODEL_TYPE = 'ModelSpecInput';
/** Type names that PascalCase of the file name would spell less well. */
const TYPE_NAMES = { 'data-imagefolder': 'DataImageFolderParams' };

const pascal = (s) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep copy of `node` with `visit` applied bottom-up to every object (schema or not). */
function mapObjects(node, visit) {
  if (Array.isArray(node)) return node.map((x) => mapObjects(x, visit));
  if (!isObject(node)) return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = mapObjects(v, visit);
  return visit(out);
}

/** Properties with a `default` become required: ajv (useDefaults) always fills them. */
function defaultsRequired(schema) {
  return mapObjects(schema, (o) => {
    if (!isObject(o.properties)) return o;
    const withDefault = Object.keys(o.properties).filter((k) => isObject(o.properties[k]) && 'default' in o.properties[k]);
    if (withDefault.length === 0) return o;
    return { ...o, required: [...new Set([...(o.required ?? []), ...withDefault])] };
  });
}

/** Plain arrays for lists whose length is only bounded (the bound stays a schema check). */
function listBoundsDropped(schema) {
  return mapObjects(schema, (o) => {
    if (o.type !== 'array' || !isObject(o.items)) return o;
    const { minItems: _min, maxItems: _max, ...rest } = o;
    return rest;
  });
}

/** `$ref` to the model schema → `tsType` of the generated model type. */
function modelRefs(schema) {
  let used = false;
  const out = mapObjects(schema, (o) => {
    if (typeof o.$ref !== 'string' || basename(o.$ref) !== MODEL_FILE) return o;
    used = true;
    const { $ref, ...rest } = o;
    return { ...rest, tsType: MODEL_TYPE };
  });
  return { schema: out, usesModel: used };
}

/** The model schema as a union: anyOf [the string form, one object type per kind]; shared definitions inlined. */
function modelUnion(model) {
  const defs = model.definitions;
  const branches = model.else.allOf.map((b) => {
    const ref = b.then.$ref;
    const name = ref.slice('#/definitions/'.length);
    const kind = b.if.properties.kind.const;
    if (kind !== name) throw new Error(`${MODEL_FILE}: branch kind "${kind}" refers to ${ref}`);
    return name;
  });
  const inline = (node) =>
    mapObjects(node, (o) => {
      if (typeof o.$ref !== 'string' || !o.$ref.startsWith('#/definitions/')) return o;
      const { $ref, ...rest } = o;
      return { ...inline(defs[$ref.slice('#/definitions/'.length)]), ...rest };
    });
  const { if: _if, then, else: _else, definitions: _defs, type: _type, $id: _id, ...head } = model;
  return {
    ...head,
    anyOf: [
      { type: 'string', ...then },
      ...branches.map((name) => ({ ...inline(defs[name]), title: `${pascal(name)}SpecInput` })),
    ],
  };
}

function banner(schemaFile) {
  return [
    '/**',
    ` * GENERATED from schemas/${schemaFile} by scripts/gen-param-types.mjs (json-schema-to-typescript): do not edit.`,
    ' * Change the schema, then regenerate with `npm run gen:types` (test/params/generatedTypes.test.ts checks they agree).',
    ' */',
  ].join('\n');
}

async function generate(schema, name, schemaFile, imports) {
  const { title: _title, $schema: _s, $id: _id, ...rest } = schema;
  const ts = await compile({ ...rest, title: name }, name, {
    bannerComment: '',
    format: false,
    additionalProperties: false,
    declareExternallyReferenced: true,
    unreachableDefinitions: false,
    strictIndexSignatures: true,
    unknownAny: true,
    cwd: schemasDir,
  });
  const text = `${banner(schemaFile)}\n${imports}${ts}`;
  const options = (await prettier.resolveConfig(join(root, 'src', 'params', 'x.ts'))) ?? {};
  return prettier.format(text, { ...options, parser: 'typescript' });
}

mkdirSync(outDir, { recursive: true });
const written = [];
const write = (file, text) => {
  writeFileSync(join(outDir, file), text);
  written.push(join(outDir, file));
};

write(
  'model.generated.ts',
  await generate(
    listBoundsDropped(modelUnion(defaultsRequired(readJson(join(schemasDir, MODEL_FILE))))),
    MODEL_TYPE,
    MODEL_FILE,
    '',
  ),
);

const stageFiles = readdirSync(join(schemasDir, 'stages'))
  .filter((f) => f.endsWith('.schema.json'))
  .sort();
const kinds = [];
for (const f of stageFiles) {
  const stem = f.slice(0, -'.schema.json'.length);
  const kind = stem.replace('-', '/');
  const raw = readJson(join(schemasDir, 'stages', f));
  if (raw.title !== `${kind} params`) throw new Error(`schemas/stages/${f}: title must be "${kind} params", is "${raw.title}"`);
  kinds.push({ kind, file: f, stem });
  const { schema, usesModel } = modelRefs(listBoundsDropped(defaultsRequired(raw)));
  const imports = usesModel ? `import type { ${MODEL_TYPE} } from './model.generated.js';\n\n` : '';
  write(`${stem}.generated.ts`, await generate(schema, TYPE_NAMES[stem] ?? `${pascal(stem)}Params`, `stages/${f}`, imports));
}

// The editor schema: pipeline.schema.json with `with:` dispatched on `uses:`. Each kind's params schema is copied in
// without its `required` list (a required param may come from a matrix axis, which specpipe merges into `with:`).
const pipeline = readJson(join(schemasDir, 'pipeline.schema.json'));
const stage = pipeline.definitions.stage;
const paramsDefs = {};
for (const { file, stem } of kinds) {
  const { $schema: _s, $id: _id, required: _required, ...params } = readJson(join(schemasDir, 'stages', file));
  paramsDefs[`params-${stem}`] = mapObjects(params, (o) =>
    typeof o.$ref === 'string' && basename(o.$ref) === MODEL_FILE ? { ...o, $ref: MODEL_FILE } : o,
  );
}
const editor = {
  ...pipeline,
  $id: pipeline.$id.replace(/pipeline\.schema\.json$/, 'pipeline.editor.schema.json'),
  title: `${pipeline.title} (for editors)`,
  description: `GENERATED from pipeline.schema.json, model.schema.json and stages/*.schema.json by scripts/gen-param-types.mjs (npm run gen:types): do not edit. For editors: put \`# yaml-language-server: $schema=<path to>/schemas/pipeline.editor.schema.json\` at the top of a pipeline file to complete stage kinds, params and model fields. Each \`with:\` is checked against its \`uses:\` kind's params, except that required params are not required here (a matrix axis may give them); specpipe itself checks each instance's params (\`with:\` and matrix values) against the kind's schema. ${pipeline.description}`,
  definitions: {
    ...pipeline.definitions,
    stage: {
      ...stage,
      properties: {
        ...stage.properties,
        uses: { ...stage.properties.uses, anyOf: [{ enum: kinds.map((k) => k.kind) }, { type: 'string' }] },
      },
      allOf: kinds.map(({ kind, stem }) => ({
        if: { required: ['uses'], properties: { uses: { const: kind } } },
        then: { properties: { with: { $ref: `#/definitions/params-${stem}` } } },
      })),
    },
    ...paramsDefs,
  },
};
const editorOptions = (await prettier.resolveConfig(join(schemasDir, 'x.json'))) ?? {};
mkdirSync(dirname(editorSchemaFile), { recursive: true });
writeFileSync(editorSchemaFile, await prettier.format(JSON.stringify(editor), { ...editorOptions, parser: 'json' }));
written.push(editorSchemaFile);

for (const w of written) console.log(`wrote ${relative(process.cwd(), w) || w}`);
