import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Dataset, Split } from './dataset.js';
import { chooseClasses } from './classSubset.js';
import { SpecpipeError } from '../util/errors.js';
import { Rng } from '../util/random.js';

export interface ImageFolderOptions {
  /** Side of the square output images (default 32): resize the shorter side to it, then centre-crop. */
  readonly imageSize?: number;
  /** A random subset of k classes (drawn with `seed`), or the class names to keep. Default: all classes. */
  readonly classes?: number | readonly string[];
  /** Draw this many images per class (seeded, balanced) before decoding. Default: all. */
  readonly trainPerClass?: number;
  readonly testPerClass?: number;
  readonly seed?: number;
  /** Images decoded at once (default 8). */
  readonly concurrency?: number;
}

/** File extensions decoded as images (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;

/** Directory entries of `kind`, following symbolic links (ImageNet class folders are often links). */
function entries(dir: string, kind: 'dir' | 'file'): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => {
      if (e.isSymbolicLink()) {
        try {
          const st = statSync(join(dir, e.name));
          return kind === 'dir' ? st.isDirectory() : st.isFile();
        } catch {
          return false; // dangling link
        }
      }
      return kind === 'dir' ? e.isDirectory() : e.isFile();
    })
    .map((e) => e.name)
    .sort();
}

function subdirectories(dir: string): string[] {
  return entries(dir, 'dir');
}

function imageFiles(dir: string): string[] {
  return entries(dir, 'file')
    .filter((n) => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(n).toLowerCase()))
    .map((n) => join(dir, n));
}

/**
 * An ImageNet-style folder: ROOT/train/<class>/*.{jpg,jpeg,png,webp} and ROOT/val/<class>/… (val optional: without it
 * the test split is empty). Classes are the sorted sub-folder names of train (as torchvision's ImageFolder).
 * Each image is decoded with sharp, converted to 3-channel sRGB, resized so its shorter side is `imageSize`
 * and centre-cropped to imageSize × imageSize (torchvision's Resize(s) + CenterCrop(s)); pixels NCHW in [0, 1].
 * Samples come sorted by class, then file name.
 */
export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<Dataset> {
  const size = options.imageSize ?? 32;
  if (!Number.isSafeInteger(size) || size < 1)
    throw new SpecpipeError('image-size', `imageSize must be a positive integer, received ${size}`);
  const seed = options.seed ?? 0;
  const trainDir = join(root, 'train');
  if (!existsSync(root))
    throw new SpecpipeError(
      'imagefolder-missing',
      `imagefolder root ${root} does not exist (expected ROOT/train/<class>/*.jpg and ROOT/val/<class>/*.jpg)`,
    );
  if (!existsSync(trainDir) || !statSync(trainDir).isDirectory()) {
    throw new SpecpipeError(
      'imagefolder-missing',
      `imagefolder root ${root}: ${trainDir} not found (expected ROOT/train/<class>/*.jpg and ROOT/val/<class>/*.jpg)`,
    );
  }
  const allClasses = subdirectories(trainDir);
  if (allClasses.length === 0)
    throw new SpecpipeError(
      'imagefolder-empty',
      `imagefolder ${trainDir} has no class folders (expected ${trainDir}/<class>/*.jpg)`,
    );
  const valDir = join(root, 'val');
  const hasVal = existsSync(valDir);
  if (hasVal) {
    const extra = subdirectories(valDir).filter((c) => !allClasses.includes(c));
    if (extra.length > 0)
      throw new SpecpipeError(
        'imagefolder-classes',
        `imagefolder ${valDir} has class folders not in ${trainDir}: ${extra.join(', ')}`,
      );
  }
  const kept = options.classes === undefined ? allClasses.map((_, i) => i) : chooseClasses(allClasses, options.classes, seed);
  const classes = kept.map((c) => allClasses[c]!);

  const pick = (dir: string, perClass: number | undefined, split: string, salt: number): { path: string; label: number }[] => {
    const out: { path: string; label: number }[] = [];
    const rng = new Rng(seed ^ salt);
    classes.forEach((name, label) => {
      const classDir = join(dir, name);
      let files = existsSync(classDir) ? imageFiles(classDir) : [];
      if (perClass !== undefined) {
        if (files.length < perClass) {
          throw new SpecpipeError(
            'per-class-too-few',
            `imagefolder class "${name}" has ${files.length} ${split} images in ${classDir}, fewer than the ${perClass} per class requested`,
          );
        }
        rng.shuffle(files);
        files = files.slice(0, perClass).sort();
      }
      for (const path of files) out.push({ path, label });
    });
    return out;
  };
  const trainFiles = pick(trainDir, options.trainPerClass, 'train', 0x7a11);
  const testFiles = hasVal ? pick(valDir, options.testPerClass, 'val', 0x7e57) : [];
  const { default: sharp } = await import('sharp');
  const concurrency = options.concurrency ?? 8;
  const decode = async (files: { path: string; label: number }[]): Promise<Split> => {
    const d = 3 * size * size;
    const images = new Float32Array(files.length * d);
    const labels = Int32Array.from(files, (f) => f.label);
    for (let start = 0; start < files.length; start += concurrency) {
      await Promise.all(
        files.slice(start, start + concurrency).map(async (f, k) => {
          let data: Buffer;
          let channels: number;
          try {
            const r = await sharp(f.path)
              .removeAlpha()
              .toColourspace('srgb')
              .resize(size, size, { fit: 'cover', position: 'centre' })
              .raw()
              .toBuffer({ resolveWithObject: true });
            data = r.data;
            channels = r.info.channels;
            if (r.info.width !== size || r.info.height !== size) throw new Error(`decoded to ${r.info.width}×${r.info.height}`);
          } catch (e) {
            throw new SpecpipeError('imagefolder-decode', `${f.path}: cannot decode image (${(e as Error).message})`);
          }
          // HWC bytes → CHW floats in [0, 1]; a 1-channel result is replicated to RGB.
          const dst = (start + k) * d;
          const hw = size * size;
          for (let j = 0; j < hw; j++) {
            for (let c = 0; c < 3; c++) images[dst + c * hw + j] = data[j * channels + (channels >= 3 ? c : 0)]! / 255;
          }
        }),
      );
    }
    return { images, shape: [files.length, 3, size, size], labels };
  };
  return { name: 'imagefolder', classes, train: await decode(trainFiles), test: await decode(testFiles) };
}
