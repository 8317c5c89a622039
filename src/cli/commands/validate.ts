import { SpecpipeError } from '../../util/errors.js';

/** `specpipe validate` — not implemented yet. */
export async function validateCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe validate is not implemented yet');
}
