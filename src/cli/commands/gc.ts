import { SpecpipeError } from '../../util/errors.js';

/** `specpipe gc` — not implemented yet. */
export async function gcCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe gc is not implemented yet');
}
