/**
 * Steps shared by the two model readers (rnnkit files and tfjs model.json): turning any error raised while
 * rebuilding a model from untrusted configs into a FORMAT error (the weights the rebuilt layers need are worked out
 * in plain JS by lib/models/model_config.ts, before the native network exists), and the version for `generatedBy`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RnnError } from '../errors';

/** Runs `build`; any error it raises becomes a FORMAT RnnError naming the file and the part being rebuilt. */
export function asFormatError<T>(file: string, part: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof RnnError && error.code === 'FORMAT' && error.message.startsWith(file)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new RnnError('FORMAT', `${file}: expected a valid ${part} but it was rejected: ${reason}`);
  }
}

export type { LayerPlan } from '../models/model_config';

let cachedVersion: string | undefined;

/** rnnkit's version from package.json (lib/io and dist/io both sit two levels below it), for `generatedBy`. */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
      cachedVersion = typeof manifest.version === 'string' ? manifest.version : 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}
