/** Runs a CLI command function with its output collected (commands take an optional `write`). */
export async function captureOutput(
  run: (write: (text: string) => void) => Promise<number>,
): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const code = await run((t) => void chunks.push(t));
  return { code, out: chunks.join('') };
}
