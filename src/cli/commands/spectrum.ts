import { SpecpipeError } from '../../util/errors.js';

/** `specpipe spectrum` — not implemented yet. */
export async function spectrumCommand(_argv: string[]): Promise<number> {
  throw new SpecpipeError('not-implemented', 'specpipe spectrum is not implemented yet');
}
