import { SpecpipeError } from '../../util/errors.js';

/** `specpipe train` — not implemented yet. */
export async function trainCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe train is not implemented yet');
}
