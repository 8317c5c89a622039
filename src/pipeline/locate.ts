import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Pair, type YAMLMap } from 'yaml';
import type { Diagnostic } from './diagnostic.js';

/** A path into the pipeline's data: map keys and list indices. */
export type DataPath = readonly (string | number)[];

interface Located {
  readonly line: number;
  readonly column: number;
  readonly length: number;
}

/** The source range of a YAML node, when it has one. */
function rangeOf(n: unknown): [number, number] | undefined {
  const r = (n as { range?: [number, number, number] } | null)?.range;
  return r !== undefined && r !== null ? [r[0], r[1]] : undefined;
}

/** Per map: key → its first pair. */
type PairIndex = WeakMap<YAMLMap, Map<string, Pair>>;

/** The first pair of `map` whose key reads `key` (indexed once per map: a file with many problems stays linear). */
function pairOf(pairIndex: PairIndex, map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndex.get(map);
  if (index === undefined) {
    index = new Map();
    for (const p of map.items) {
      if (!isPair(p)) continue;
      const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
      if (!index.has(k)) index.set(k, p);
    }
    pairIndex.set(map, index);
  }
  return index.get(key);
}

/** Walks `path` through the YAML AST; returns the range of the deepest node found (its key node when `atKey`). */
function rangeAt(doc: Document, pairIndex: PairIndex, path: DataPath, atKey: boolean): [number, number] | undefined {
  let node: unknown = doc.contents;
  let best = rangeOf(node);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isMap(node)) {
      const pair = pairOf(pairIndex, node, String(seg));
      if (pair === undefined) break;
      if ((i === path.length - 1 && atKey) || pair.value === null) return rangeOf(pair.key) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) break;
    } else break;
    best = rangeOf(node) ?? best;
  }
  return best;
}

/**
 * Turns data paths into positioned diagnostics: file:line:column of the node at the path (or of
 * its nearest ancestor present in the file), underlined to the end of its line. A value set by
 * `--set` is pointed at where it replaced the file's value, and the message names the `--set`.
 */
export class Locator {
  readonly #overrides: { readonly path: DataPath; readonly text: string }[] = [];
  /** Rebuilt after each `--set` (which may add keys). */
  #pairIndex: PairIndex = new WeakMap();

  constructor(
    readonly file: string,
    readonly source: string,
    readonly doc: Document,
    readonly lineCounter: LineCounter,
  ) {}

  /** Records that `--set text` replaced the value at `path`. */
  noteOverride(path: DataPath, text: string): void {
    this.#overrides.push({ path, text });
    this.#pairIndex = new WeakMap();
  }

  /** A diagnostic at the node of `path` (or its nearest ancestor present in the file). */
  readonly diagnostic = (path: DataPath, message: string, atKey = false): Diagnostic => {
    const set = this.#overrides.find((o) => o.path.every((s, i) => String(path[i]) === String(s)));
    const loc = this.#locate(set?.path ?? path, atKey);
    const suffix = set !== undefined ? ` (from --set ${set.text})` : '';
    return { file: this.file, line: loc.line, column: loc.column, length: loc.length, message: message + suffix };
  };

  #locate(path: DataPath, atKey: boolean): Located {
    const range = rangeAt(this.doc, this.#pairIndex, path, atKey);
    if (range === undefined) return { line: 1, column: 1, length: 1 };
    const pos = this.lineCounter.linePos(range[0]);
    const end = Math.max(range[0] + 1, range[1]);
    const lineEnd = this.source.indexOf('\n', range[0]);
    const length = Math.max(1, Math.min(end, lineEnd === -1 ? this.source.length : lineEnd) - range[0]);
    return { line: pos.line, column: pos.col, length };
  }
}
