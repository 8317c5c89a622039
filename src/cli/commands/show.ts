import { SpecpipeError } from '../../util/errors.js';

/** `specpipe show` — not implemented yet. */
export async function showCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe show is not implemented yet');
}
