import { parse as parseYamlValue } from 'yaml';
import { failureMessage, ok, type Result } from '../util/result.js';
import { didYouMean, type Diagnostic } from './diagnostic.js';
import {
  CyclicDataError,
  documentData,
  isPlainMap,
  plainData,
  yamlMessage,
  type ParsedPipeline,
  type PlainMap,
} from './parseSource.js';

/** Keys a `--set` may replace at the top level (`--set seed=1`, `--set seeds=[0,1]`). */
const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(['name', 'description', 'seed', 'seeds', 'backend', 'stages']);
/** Fields of a stage a `--set` may replace (`--set train.with.epochs=5`). */
const STAGE_FIELDS: ReadonlySet<string> = new Set(['with', 'matrix', 'needs', 'gather', 'uses']);

/** Where one `--set path=value` goes in the document, and the value (parsed as YAML). */
function parseOverride(
  o: string,
  file: string,
  stageNames: readonly string[],
): Result<{ path: string[]; value: unknown }, Diagnostic> {
  const eq = o.indexOf('=');
  if (eq <= 0) return failureMessage('bad-set', `--set expects path=value (e.g. train.with.epochs=5), received "${o}"`);
  const lhs = o.slice(0, eq);
  let value: unknown;
  try {
    value = parseYamlValue(o.slice(eq + 1));
  } catch (e) {
    return failureMessage(
      'bad-set',
      `--set ${o}: the value is not valid YAML (${e instanceof Error ? yamlMessage(e.message) : String(e)})`,
    );
  }
  try {
    plainData(value);
  } catch (e) {
    if (!(e instanceof CyclicDataError)) throw e;
    return failureMessage('bad-set', `--set ${o}: the value contains itself (an alias inside its own anchor)`);
  }
  const segs = lhs.split('.');
  if (segs.length === 1 && TOP_LEVEL_KEYS.has(segs[0]!)) return ok({ path: segs, value });
  const stage = segs[0]!;
  if (!stageNames.includes(stage))
    return failureMessage('bad-set', `--set ${o}: no stage "${stage}" in ${file}${didYouMean(stage, stageNames)}`);
  if (segs.length < 2 || !STAGE_FIELDS.has(segs[1]!))
    return failureMessage('bad-set', `--set ${o}: expected STAGE.with.PARAM=VALUE or STAGE.matrix.AXIS=[…], received "${lhs}"`);
  return ok({ path: ['stages', ...segs], value });
}

/**
 * Phase 2: `--set` assignments (`stage.with.param=value`, `stage.matrix.axis=[..]`, `seed=1`; values
 * are YAML). They edit the document, so every other value keeps its position, and the locator
 * points problems in a replaced value at the `--set` that replaced it.
 */
export function applyOverrides(parsed: ParsedPipeline, overrides: readonly string[]): Result<PlainMap, Diagnostic> {
  if (overrides.length === 0) return ok(parsed.data);
  const stages = parsed.data['stages'];
  const stageNames = isPlainMap(stages) ? Object.keys(stages) : [];
  for (const o of overrides) {
    const set = parseOverride(o, parsed.locator.file, stageNames);
    if (!set.ok) return set;
    try {
      parsed.doc.setIn(set.value.path, parsed.doc.createNode(set.value.value));
    } catch (e) {
      // e.g. `--set a.with.x.y=1` where the file has `with: { x: 3 }`: no map to put "y" in.
      return failureMessage(
        'bad-set',
        `--set ${o}: cannot set it in ${parsed.locator.file} (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    parsed.locator.noteOverride(set.value.path, o);
  }
  const data = documentData(parsed.locator.file, parsed.doc, parsed.locator.lineCounter);
  if (!data.ok) return data;
  return ok(data.value as PlainMap);
}
