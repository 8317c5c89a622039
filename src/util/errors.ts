/**
 * Errors meant for the user: the CLI prints `message` alone (no stack) and exits with `exitCode`.
 * Every message names what was wrong and where: the file (line:column), or the parameter and
 * the value received. `reason` is a stable machine-readable tag for tests and JSON output.
 */
export class SpecpipeError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'SpecpipeError';
  }
}

export function isSpecpipeError(e: unknown): e is SpecpipeError {
  return e instanceof Error && typeof (e as Partial<SpecpipeError>).reason === 'string' && 'exitCode' in e;
}
