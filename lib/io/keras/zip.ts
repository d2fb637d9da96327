/**
 * The zip container of a Keras 3 `.keras` file, through fflate (small, dependency-free, maintained). Keras writes it
 * with Python's zipfile defaults (entries stored, not deflated) in the order metadata.json, config.json,
 * model.weights.h5 (keras/src/saving/saving_lib.py `_save_model_to_fileobj`); rnnkit writes the same.
 *
 * Reading is bounded: the bytes were read within the load's budget (ConfinedReader), each entry's declared size is
 * checked against what is left of that budget before it is inflated, and an entry that inflates to another size
 * than it declares is refused. Any zip damage is a FORMAT error.
 */
import { unzipSync, zipSync } from 'fflate';
import { RnnError } from '../../errors';

/** Names of the entries of a `.keras` archive (keras/src/saving/saving_lib.py). */
export const KERAS_CONFIG = 'config.json';
export const KERAS_METADATA = 'metadata.json';
export const KERAS_WEIGHTS = 'model.weights.h5';

/** The entries of a `.keras` archive that rnnkit reads, each inflated; `budget` bounds their total size. */
export function readKerasArchive(bytes: Uint8Array, file: string, budget: number): Map<string, Uint8Array> {
  const wanted = new Set([KERAS_CONFIG, KERAS_METADATA, KERAS_WEIGHTS]);
  let declared = 0;
  const sizes = new Map<string, number>();
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (entry) => {
        if (!wanted.has(entry.name)) return false;
        declared += entry.originalSize;
        sizes.set(entry.name, entry.originalSize);
        if (declared > budget) {
          throw new RnnError('MEMORY', `${file}: the archive's entries declare ${declared} bytes but only ${budget} of the load's budget are left (loadModel option maxBytes)`);
        }
        return true;
      },
    });
  } catch (error) {
    if (error instanceof RnnError) throw error;
    throw new RnnError('FORMAT', `${file}: expected a .keras zip archive but it could not be read (${error instanceof Error ? error.message : String(error)})`);
  }
  const result = new Map<string, Uint8Array>();
  for (const name of wanted) {
    if (!Object.prototype.hasOwnProperty.call(entries, name)) {
      if (name === KERAS_METADATA) continue; // Keras itself never reads metadata.json back
      throw new RnnError('FORMAT', `${file}: expected the entry '${name}' in the .keras archive but it is missing`);
    }
    if (entries[name].length !== sizes.get(name)) {
      throw new RnnError('FORMAT', `${file}: expected '${name}' to inflate to the ${String(sizes.get(name))} bytes it declares but it gave ${entries[name].length}`);
    }
    result.set(name, entries[name]);
  }
  return result;
}

/** A `.keras` archive of the three entries, stored uncompressed in Keras's order. */
export function writeKerasArchive(metadata: string, config: string, weights: Uint8Array): Uint8Array {
  const stored = { level: 0 as const };
  return zipSync({
    [KERAS_METADATA]: [Buffer.from(metadata, 'utf8'), stored],
    [KERAS_CONFIG]: [Buffer.from(config, 'utf8'), stored],
    [KERAS_WEIGHTS]: [weights, stored],
  });
}
