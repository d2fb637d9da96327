/**
 * The tfjs layers-model layout (what tfjs' `file://` handler writes): a directory with
 *
 *   model.json   { modelTopology: { class_name: 'Sequential', config: { name, layers } }, format: 'layers-model',
 *                  (a graph: class_name 'Model', config { name, layers, input_layers, output_layers }: tfjs_graph.ts)
 *                  generatedBy, convertedBy, weightsManifest: [{ paths: ['./weights.bin'], weights: [spec...] }] }
 *   weights.bin  the weights, float32 little-endian, back to back in manifest order
 *
 * Weight specs are named as tfjs names a model's variables: `<layer>/kernel`, `<layer>/recurrent_kernel`,
 * `<layer>/bias`, `<layer>/embeddings`; a Bidirectional layer's are `<layer>/forward_<inner>/kernel` and
 * `<layer>/backward_<inner>/kernel`; a TimeDistributed layer's are its own (`<layer>/kernel`). Reading matches by
 * those names (tfjs' loadWeights does the same); files whose names differ (e.g. Keras' `<layer>/lstm_cell/kernel`)
 * load when count and shapes match in order. Each of the two files is replaced atomically; weights.bin is written
 * first, so an interrupted save leaves the previous model.json.
 */
import * as path from 'path';
import { RnnError } from '../errors';
import { serializeLayer } from '../layers/registry';
import type { Model } from '../models/model';
import { blueprintFromConfig, planOf } from '../models/model_config';
import { Sequential } from '../models/sequential';
import { Tensor } from '../tensor';
import { isPlainObject } from '../validate';
import { ensureDirectory, writeFileAtomic } from './atomic_write';
import type { ConfinedReader } from './confined_read';
import { asFormatError, LayerPlan, packageVersion } from './model_plan';
import { fromTfjsTopology, toTfjsLayer } from './tfjs_config';
import { fromTfjsGraph, toTfjsGraph } from './tfjs_graph';
import {
  copyFloat32, float32Bytes, formatError, parseUntrustedJson, requireArray, requireObject, requireShape, requireString,
  shapeSize, TensorEntry,
} from './validation';

export const TFJS_MODEL_FILE = 'model.json';
export const TFJS_WEIGHTS_FILE = 'weights.bin';
const MAX_MANIFEST_ENTRIES = 100000;
/** Bytes per element of the dtypes a manifest may list (only float32 weights are loaded; others are skipped). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** The names tfjs gives the weights of each layer of a model, in getWeights order. */
export function tfjsWeightNames(plan: readonly LayerPlan[]): string[] {
  return plan.flatMap(({ layer, specs }) => specs.map((spec) => {
    const inner = (layer.getConfig().layer as { config?: { name?: string } } | undefined)?.config?.name;
    if (layer.className === 'Bidirectional') {
      const [direction, weight] = spec.name.split('/');
      return `${layer.name}/${direction}_${inner}/${weight}`;
    }
    return `${layer.name}/${spec.name}`;
  }));
}

/** Writes `model` as `<directory>/model.json` + `<directory>/weights.bin`. Values are copied before the first await. */
export async function saveTfjsModel(model: Model, directory: string): Promise<void> {
  const topology = model.topology;
  if (!topology) throw new RnnError('STATE', `Model '${model.name}' has no layers yet; there is nothing to save`);
  const sequential = model instanceof Sequential;
  const config = sequential
    ? { name: model.name, layers: topology.layers.map((layer, i) => toTfjsLayer(serializeLayer(layer), i === 0 ? model.inputShape : undefined)) }
    : toTfjsGraph(model);
  const names = tfjsWeightNames(planOf(topology));
  const weights = model.readAllWeights();
  const modelJson = {
    modelTopology: {
      class_name: sequential ? 'Sequential' : 'Model', config,
      keras_version: `rnnkit ${packageVersion()}`, backend: 'tensor_flow.js',
    },
    format: 'layers-model',
    generatedBy: `rnnkit ${packageVersion()}`,
    convertedBy: null,
    weightsManifest: [{
      paths: [`./${TFJS_WEIGHTS_FILE}`],
      weights: weights.map((w, i) => ({ name: names[i], shape: w.shape.slice(), dtype: 'float32' })),
    }],
  };
  const weightBytes = weights.map((w) => float32Bytes(w.data));
  const jsonBytes = Buffer.from(JSON.stringify(modelJson), 'utf8');
  await ensureDirectory(directory);
  await writeFileAtomic(path.join(directory, TFJS_WEIGHTS_FILE), weightBytes);
  await writeFileAtomic(path.join(directory, TFJS_MODEL_FILE), [jsonBytes]);
}

/** A weight spec located in its group's bytes. */
interface ManifestEntry extends TensorEntry {
  group: number;
  dtype: string;
  /** Optimizer weights (tfjs includeOptimizer) are located but not loaded. */
  optimizer: boolean;
}

/** Loads a tfjs layers model from its model.json, read by `reader` (or given as `preread` when already read by it). */
export async function loadTfjsModel(jsonPath: string, reader: ConfinedReader, preread?: Uint8Array): Promise<Model> {
  const file = jsonPath;
  const bytes = preread ?? await reader.read(jsonPath, 'model.json');
  const root = requireObject(parseUntrustedJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), file, 'model.json'), file, 'model.json');
  if (root.format !== undefined && root.format !== 'layers-model') {
    throw formatError(file, "format 'layers-model' (tfjs 'graph-model' files, converted TensorFlow graphs, cannot be loaded)", 'format', root.format);
  }
  let topology = root.modelTopology;
  if (isPlainObject(topology) && isPlainObject(topology.model_config)) topology = topology.model_config;
  if (!isPlainObject(topology)) throw formatError(file, 'an object', 'modelTopology', topology);
  const config = topology.class_name === 'Model' || topology.class_name === 'Functional'
    ? fromTfjsGraph(topology.config, file)
    : { className: 'Sequential', ...fromTfjsTopology(topology, file) };
  const blueprint = asFormatError(file, 'model', () => blueprintFromConfig(config, 'modelTopology', undefined, true));
  const plan = blueprint.plan;

  // Paths are resolved from the model's real folder; reader.read refuses what resolves outside it, repeats and
  // anything but regular files, within the load's byte budget (confined_read.ts).
  const groups = readManifest(root.weightsManifest, reader.folder, file);
  const entries: ManifestEntry[] = [];
  const groupBytes: Uint8Array[] = [];
  for (const [g, group] of groups.entries()) {
    const files: Buffer[] = [];
    for (const [i, p] of group.paths.entries()) files.push(await reader.read(p, `weightsManifest[${g}].paths[${i}]`, file));
    const total = files.reduce((sum, b) => sum + b.length, 0);
    let offset = 0;
    for (const raw of group.weights) {
      const entry = readManifestEntry(raw, g, offset, file);
      offset += entry.length;
      entries.push(entry);
    }
    if (offset !== total) {
      throw new RnnError('FORMAT', `${file}: expected weightsManifest[${g}] files (${group.paths.map((p) => path.basename(p)).join(', ')}) to hold the ${offset} bytes its weights list but they hold ${total}`);
    }
    groupBytes.push(files.length === 1 ? files[0] : Buffer.concat(files));
  }

  const selected = selectWeights(plan, entries.filter((e) => !e.optimizer), file);
  const weights = selected.map((entry) => {
    const values = copyFloat32(groupBytes[entry.group], entry);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw formatError(file, 'finite values', `weight '${entry.name}'`, values[i]);
    }
    return new Tensor(values, entry.shape);
  });
  const model = asFormatError(file, 'model', () => blueprint.build());
  model.writeAllWeights(weights);
  return model;
}

/** Weight groups with their file paths resolved inside the model's directory. */
function readManifest(raw: unknown, directory: string, file: string): Array<{ paths: string[]; weights: unknown[] }> {
  const manifest = requireArray(raw, file, 'weightsManifest', MAX_MANIFEST_ENTRIES);
  return manifest.map((rawGroup, g) => {
    const group = requireObject(rawGroup, file, `weightsManifest[${g}]`);
    const paths = requireArray(group.paths, file, `weightsManifest[${g}].paths`, MAX_MANIFEST_ENTRIES).map((p, i) => {
      const relative = requireString(p, file, `weightsManifest[${g}].paths[${i}]`);
      const resolved = path.resolve(directory, relative);
      // A weights path is a file next to model.json (or below it): no absolute paths, URLs or '..' escapes.
      if (path.isAbsolute(relative) || /^[a-z][a-z0-9+.-]*:/i.test(relative) || !resolved.startsWith(path.resolve(directory) + path.sep)) {
        throw formatError(file, "a relative path inside the model's directory", `weightsManifest[${g}].paths[${i}]`, relative);
      }
      return resolved;
    });
    return { paths, weights: requireArray(group.weights, file, `weightsManifest[${g}].weights`, MAX_MANIFEST_ENTRIES) };
  });
}

function readManifestEntry(raw: unknown, group: number, offset: number, file: string): ManifestEntry {
  const spec = requireObject(raw, file, `weightsManifest[${group}] weight`);
  const name = requireString(spec.name, file, `weightsManifest[${group}] weight name`);
  const label = `weight '${name}'`;
  const optimizer = spec.group === 'optimizer';
  if (typeof spec.dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_BYTES, spec.dtype)) {
    throw formatError(file, `a dtype among ${Object.keys(DTYPE_BYTES).join(', ')}`, `${label}.dtype`, spec.dtype);
  }
  if (spec.quantization !== undefined && spec.quantization !== null) {
    throw formatError(file, 'unquantized weights (rnnkit reads float32 only)', `${label}.quantization`, spec.quantization);
  }
  if (!optimizer && spec.dtype !== 'float32') throw formatError(file, "dtype 'float32'", `${label}.dtype`, spec.dtype);
  let shape: number[];
  if (optimizer) {
    // Optimizer scalars have shape []; the entry is only located so the weights after it are found.
    if (!Array.isArray(spec.shape) || spec.shape.length > 8 || !spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw formatError(file, 'a shape of non-negative integers', `${label}.shape`, spec.shape);
    }
    shape = spec.shape as number[];
  } else {
    shape = requireShape(spec.shape, file, `${label}.shape`, Number.MAX_SAFE_INTEGER / 8);
  }
  const length = shapeSize(shape) * DTYPE_BYTES[spec.dtype];
  return { name, shape, offset, length, group, dtype: spec.dtype, optimizer };
}

/** The manifest entries for the layers' weights in getWeights order: by tfjs name, else by position when shapes agree. */
function selectWeights(plan: readonly LayerPlan[], entries: readonly ManifestEntry[], file: string): ManifestEntry[] {
  const names = tfjsWeightNames(plan);
  const shapes = plan.flatMap((p) => p.specs.map((s) => s.shape));
  const byName = new Map<string, ManifestEntry>();
  for (const entry of entries) byName.set(entry.name, entry);
  const missing = names.filter((name) => !byName.has(name));
  const sameShape = (entry: ManifestEntry, i: number) => entry.shape.join() === shapes[i].join();
  if (missing.length === 0) {
    return names.map((name, i) => {
      const entry = byName.get(name)!;
      if (!sameShape(entry, i)) throw formatError(file, `shape [${shapes[i].join(', ')}]`, `weight '${name}'`, `[${entry.shape.join(', ')}]`);
      return entry;
    });
  }
  if (entries.length === names.length && entries.every(sameShape)) return entries.slice();
  throw new RnnError('FORMAT', `${file}: expected the weights ${missing.slice(0, 3).map((n) => `'${n}'`).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''} in weightsManifest (or ${names.length} weights whose shapes match the layers in order) but they are missing`);
}
