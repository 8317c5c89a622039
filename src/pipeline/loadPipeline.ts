import { SpecpipeError } from '../util/errors.js';
import { ok, type Failure, type Result } from '../util/result.js';
import { sha256Hex } from '../util/canonicalJson.js';
import { PipelineError, type Diagnostic } from './diagnostic.js';
import type { DataPath } from './locate.js';
import { applyOverrides } from './overrides.js';
import { parsePipelineSource, type ParsedPipeline } from './parseSource.js';
import { readPipelineSource } from './readSource.js';
import { checkCycles, checkReferences, checkSchema, normaliseSpec } from './stageChecks.js';
import type { PipelineSpec } from './spec.js';
import { checkSeeds } from './seedAxis.js';

export type { DataPath } from './locate.js';

/** A parsed, schema-checked pipeline with a way back from data paths to file positions. */
export interface LoadedPipeline {
  readonly file: string;
  readonly source: string;
  /** sha256 of the file's bytes (before --set overrides). */
  readonly sha256: string;
  /** The `--set` assignments applied, as given. */
  readonly overrides: readonly string[];
  readonly spec: PipelineSpec;
  /** A diagnostic at the node of `path` (or its nearest ancestor present in the file). */
  diagnostic(path: DataPath, message: string, atKey?: boolean): Diagnostic;
  /** Throws a PipelineError holding these diagnostics. */
  fail(reason: string, diagnostics: readonly Diagnostic[]): never;
}

export interface LoadOptions {
  /** `--set` assignments: `stage.with.param=value`, `stage.matrix.axis=[..]`, `seed=1`; values are YAML. */
  readonly overrides?: readonly string[];
  /** Source text to use instead of reading `file` (tests, or a caller that read it already). */
  readonly source?: string;
}

/** The error a failed phase stands for: positioned diagnostics, or a message with no position. */
export function phaseError(f: Failure<Diagnostic>, source: string | undefined): SpecpipeError {
  return f.message !== undefined ? new SpecpipeError(f.reason, f.message) : new PipelineError(f.reason, f.diagnostics, source);
}

/**
 * Checks a parsed pipeline, one phase after another, stopping at the first that fails: overrides
 * (`--set`) → schema → normalise → references (kinds, needs/gather, matrix axes) → seeds → cycles. Stage
 * params are checked per instance by `buildPlan` (a matrix cell's values are params too).
 */
export function checkParsedPipeline(
  parsed: ParsedPipeline,
  overrides: readonly string[] = [],
): Result<LoadedPipeline, Diagnostic> {
  const { locator } = parsed;
  const raw = applyOverrides(parsed, overrides);
  if (!raw.ok) return raw;
  const schema = checkSchema(raw.value, locator);
  if (!schema.ok) return schema;
  const spec = normaliseSpec(raw.value);
  for (const check of [checkReferences, checkSeeds, checkCycles]) {
    const r = check(spec, locator);
    if (!r.ok) return r;
  }
  const { file, source } = locator;
  const fail = (reason: string, diagnostics: readonly Diagnostic[]): never => {
    throw new PipelineError(reason, diagnostics, source);
  };
  return ok({ file, source, sha256: sha256Hex(source), overrides, spec, diagnostic: locator.diagnostic, fail });
}

/** Parses (YAML syntax; plain data only: custom tags are errors) and checks a pipeline's text: {@link checkParsedPipeline}. */
export function checkPipeline(
  file: string,
  source: string,
  overrides: readonly string[] = [],
): Result<LoadedPipeline, Diagnostic> {
  const parsed = parsePipelineSource(file, source);
  return parsed.ok ? checkParsedPipeline(parsed.value, overrides) : parsed;
}

/**
 * Reads (a regular file within the size limit: phase 0) and checks a pipeline file; throws the
 * first failure: a PipelineError (positioned) or a SpecpipeError (no position: unreadable file, bad `--set`).
 */
export function loadPipeline(file: string, options: LoadOptions = {}): LoadedPipeline {
  let source = options.source;
  if (source === undefined) {
    const read = readPipelineSource(file);
    if (!read.ok) throw phaseError(read, undefined);
    source = read.value;
  }
  const r = checkPipeline(file, source, options.overrides);
  if (!r.ok) throw phaseError(r, source);
  return r.value;
}
