import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/** sha256 (hex) of a file's content, read in 1 MiB chunks; `onBytes` sees each chunk's size. */
export function sha256File(path: string, onBytes?: (n: number) => void): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      onBytes?.(n);
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
