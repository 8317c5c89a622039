import { readFileSync, statSync, type Stats } from 'node:fs';
import { failureMessage, ok, type Result } from '../util/result.js';
import type { Diagnostic } from './diagnostic.js';

/**
 * Largest pipeline file read (1 MiB). Real pipelines are a few kilobytes; the limit keeps a wrong
 * path (a 55 MB data file) from exhausting memory in the YAML parser.
 */
export const MAX_PIPELINE_BYTES = 1024 * 1024;

function errnoCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/** What a path is, for a message, when it is not a regular file. */
function notAFile(s: Stats): string | undefined {
  if (s.isFile()) return undefined;
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a named pipe';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Phase 0: the file's text. Refused before reading: a path that is not a regular file (/dev/zero,
 * a pipe: reading would never end) and a file over {@link MAX_PIPELINE_BYTES}.
 */
export function readPipelineSource(file: string): Result<string, Diagnostic> {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (e) {
    return failureMessage('pipeline-unreadable', `${file}: cannot read pipeline file (${errnoCode(e)})`);
  }
  if (stats.isDirectory()) return failureMessage('pipeline-unreadable', `${file}: cannot read pipeline file (EISDIR)`);
  const what = notAFile(stats);
  if (what !== undefined)
    return failureMessage('pipeline-not-a-file', `${file}: cannot read pipeline file: ${what}, not a regular file`);
  if (stats.size > MAX_PIPELINE_BYTES)
    return failureMessage(
      'pipeline-too-large',
      `${file}: pipeline file is ${mib(stats.size)} (${stats.size} bytes), over the ${mib(MAX_PIPELINE_BYTES)} limit for pipeline files`,
    );
  try {
    return ok(readFileSync(file, 'utf8'));
  } catch (e) {
    return failureMessage('pipeline-unreadable', `${file}: cannot read pipeline file (${errnoCode(e)})`);
  }
}
