/**
 * The outcome of a step that can fail with several problems at once (wireit's `Result`): either its
 * value, or why it failed. `reason` is a stable machine-readable tag; `diagnostics` are the
 * problems, each with its position; `message` states a failure that has no position (an unreadable
 * file, a malformed command-line argument), with `diagnostics` then empty.
 */
export type Result<T, D> = Ok<T> | Failure<D>;

export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

export interface Failure<D> {
  readonly ok: false;
  readonly reason: string;
  readonly diagnostics: readonly D[];
  readonly message?: string;
}

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/** A failure with positioned problems. */
export function failure<D>(reason: string, diagnostics: readonly D[]): Failure<D> {
  return { ok: false, reason, diagnostics };
}

/** A failure with no position to point at: `message` says it all. */
export function failureMessage<D>(reason: string, message: string): Failure<D> {
  return { ok: false, reason, diagnostics: [], message };
}
