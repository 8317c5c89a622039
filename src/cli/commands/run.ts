import { SpecpipeError } from '../../util/errors.js';

/** `specpipe run` — not implemented yet. */
export async function runCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe run is not implemented yet');
}
