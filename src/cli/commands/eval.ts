import { SpecpipeError } from '../../util/errors.js';

/** `specpipe eval` — not implemented yet. */
export async function evalCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe eval is not implemented yet');
}
