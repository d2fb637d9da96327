/**
 * Steps shared by the two model readers (rnnkit files and tfjs model.json): turning any error raised while
 * rebuilding layers from untrusted configs into a FORMAT error, and working out, in plain JS and before the native
 * network exists, which weights the rebuilt layers need, so they can be checked against the file first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RnnError } from '../errors';
import { Layer, WeightSpec } from '../layers/layer';

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

/** One layer of a model being loaded: its per-sample input shape and the weights it declares for it. */
export interface LayerPlan {
  layer: Layer;
  inputShape: number[];
  specs: WeightSpec[];
}

/** Input shapes and weight specs of a layer stack whose first layer carries the inputShape. */
export function planLayers(layers: readonly Layer[], file: string): LayerPlan[] {
  if (layers.length === 0) throw new RnnError('FORMAT', `${file}: expected at least one layer but the model has none`);
  const first = layers[0];
  if (!first.inputShape) throw new RnnError('FORMAT', `${file}: expected an inputShape on the first layer ('${first.name}') but it has none`);
  let shape = first.inputShape.slice();
  return layers.map((layer) => asFormatError(file, `layer '${layer.name}'`, () => {
    const plan = { layer, inputShape: shape, specs: layer.weightSpecs(shape) };
    shape = layer.computeOutputShape(shape);
    return plan;
  }));
}

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
