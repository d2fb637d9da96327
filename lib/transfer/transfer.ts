/**
 * rk.transfer: a new, independent model for a target domain built from a trained source model. Layers are rebuilt
 * from their configs (lib/layers/registry.ts) and weights are copied by value, so training the new model never
 * touches the source. Every weight's fate (copied / adapted / re-initialised, and why) goes into a TransferReport.
 *
 * Weight layout reminder (Keras): a recurrent or dense kernel is [inputFeatures, gates * units], so a different
 * number of input features changes only its rows; the recurrent kernel [units, gates * units] and the bias do not
 * depend on the input and always carry over.
 */
import { RnnError } from '../errors';
import { ActivationName, checkActivation, Layer } from '../layers/layer';
import { layerFromConfig, serializeLayer } from '../layers/registry';
import { Model } from '../models/model';
import { Sequential } from '../models/sequential';
import { Tensor } from '../tensor';
import { checkInteger, checkKnownKeys, checkOneOf, invalid, isPlainObject, optionsOrEmpty } from '../validate';
import { needsGraphTransfer, transferGraph } from './graph_transfer';
import { TransferReport, WeightTransfer } from './report';

/** A new output layer replacing the source's last layer. */
export interface TransferHead {
  /** Output size (e.g. the number of target classes). Required. */
  units: number;
  /** Default 'softmax'. */
  activation?: ActivationName;
  /** Layer name. Default 'head' (with a suffix if a body layer already has that name). */
  name?: string;
}

export type InputAdapter = 'reinitialize' | 'expand';

export interface TransferOptions {
  /**
   * `{ units, activation }`: keep every source layer but the last and append a new Dense head.
   * A Sequential: the architecture of the new model (its layer configs; its weights are not used), whose layers
   *   matching the source's receive the source's weights.
   * A functional model (rk.model): the same, with layers matched by name; with a functional source, a head spec
   *   replaces the source's one output layer (a source with several outputs needs a target model).
   */
  head: TransferHead | Model;
  /**
   * Which source layers carry their weights, and where to.
   * - `{ sourceLayer: newLayer }` by name: with a head spec the layer is renamed, with a target model it names the
   *   target layer;
   * - `[0, 'lstm', ...]`: source layers by position or name, each into the layer at the same position;
   * - default: with a head spec every layer but the last; with a target model every position both models share
   *   except their last layers, where the layer classes agree.
   * With graphs (a functional source or target) layers are matched by name only: `{ source: target }`, `[names]`,
   * or by default every target layer named like a source layer of the same class.
   * Layers of the new model that receive nothing keep fresh initial weights.
   */
  map?: Record<string, string> | Array<string | number>;
  /** Set trainable = false on every transferred layer (true) or on the named layers of the new model. Default false. */
  freeze?: boolean | string[];
  /**
   * Per-sample input shape of the new model, e.g. another time length or feature count. Default: unchanged.
   * Sequential transfers only (a graph's inputs are those of the target model).
   */
  inputShape?: number[];
  /**
   * What to do with an input kernel whose number of input features differs (only its rows depend on them):
   * 'expand' keeps the source rows of the first min(old, new) features and initialises the rest;
   * 'reinitialize' initialises the whole kernel. Recurrent kernels and biases always carry over. Default: none,
   * so a feature-count mismatch is a SHAPE error.
   */
  inputAdapter?: InputAdapter;
  /** Name of the new model. Default `<source name>_transfer`. */
  name?: string;
}

export interface TransferResult<M extends Model = Sequential> {
  /** The new model (not compiled). */
  model: M;
  /** What happened to every weight. */
  report: TransferReport;
}

const TRANSFER_KEYS = ['head', 'map', 'freeze', 'inputShape', 'inputAdapter', 'name'] as const;
const INPUT_ADAPTERS: readonly InputAdapter[] = ['reinitialize', 'expand'];

/** One layer of the model to build and, if it receives weights, the source layer they come from. */
interface PlannedLayer {
  serialized: { className: string; config: Record<string, unknown> };
  name: string;
  trainable: boolean;
  source?: { layer: Layer; index: number };
  /** Why a layer without a source gets fresh weights. */
  freshReason: string;
}

function layerNames(model: Sequential): string {
  return model.layers.map((l) => `'${l.name}'`).join(', ');
}

function hasWeights(model: Sequential, index: number): boolean {
  return model.layers[index].weightSpecs(model.layerInputShape(index)).length > 0;
}

/** Index of a source layer given by name or position; ARGUMENT error naming the available layers otherwise. */
function sourceIndex(source: Sequential, ref: unknown, name: string): number {
  const index = typeof ref === 'number' ? (Number.isInteger(ref) && ref >= 0 && ref < source.layers.length ? ref : -1)
    : typeof ref === 'string' ? source.layers.findIndex((l) => l.name === ref) : -1;
  if (index < 0) throw invalid('ARGUMENT', `a layer of the source model (${layerNames(source)} or an index below ${source.layers.length})`, name, ref);
  return index;
}

/** Pairs source index -> new-model index (and, for a head spec with an object map, the new name). */
function resolveMap(map: unknown, source: Sequential, targetNames: string[], headSpec: boolean): Array<{ from: number; to: number; rename?: string }> {
  const bodyLength = headSpec ? source.layers.length - 1 : source.layers.length;
  const checkBody = (from: number, name: string) => {
    if (from >= bodyLength) {
      throw new RnnError('ARGUMENT', `Expected a source layer other than the replaced head '${source.layers[from].name}' for ${name}`);
    }
  };
  const pairs: Array<{ from: number; to: number; rename?: string }> = [];
  if (Array.isArray(map)) {
    map.forEach((ref, i) => {
      const from = sourceIndex(source, ref, `map[${i}]`);
      checkBody(from, `map[${i}]`);
      if (from >= targetNames.length) throw invalid('ARGUMENT', `a source position below the target's ${targetNames.length} layers`, `map[${i}]`, ref);
      pairs.push({ from, to: from });
    });
  } else if (isPlainObject(map)) {
    checkKnownKeys(map, source.layers.map((l) => l.name), 'map (keys are source layer names)');
    for (const [key, value] of Object.entries(map)) {
      const from = sourceIndex(source, key, 'map key');
      checkBody(from, `map['${key}']`);
      if (typeof value !== 'string' || value.length === 0) throw invalid('ARGUMENT', 'a layer name', `map['${key}']`, value);
      if (headSpec) {
        pairs.push({ from, to: from, rename: value });
      } else {
        const to = targetNames.indexOf(value);
        if (to < 0) throw invalid('ARGUMENT', `a layer of the target model (${targetNames.map((n) => `'${n}'`).join(', ')})`, `map['${key}']`, value);
        pairs.push({ from, to });
      }
    }
  } else {
    throw invalid('ARGUMENT', "an object { sourceLayer: newLayer } or an array of source layer names or positions", 'map', map);
  }
  const seen = new Set<number>();
  for (const pair of pairs) {
    if (seen.has(pair.to)) throw new RnnError('ARGUMENT', `Expected each layer of the new model to receive weights from one source layer but map sends two to position ${pair.to}`);
    seen.add(pair.to);
  }
  return pairs;
}

/** The layers of the new model, before freezing (a sequential source and head; graphs go to transferGraph). */
function planLayers(source: Sequential, options: TransferOptions & { head: TransferHead | Sequential }): PlannedLayer[] {
  const head = options.head;
  if (head instanceof Sequential) {
    if (head.layers.length === 0) throw new RnnError('ARGUMENT', `Expected a target model with layers for head but '${head.name}' has none`);
    const plan: PlannedLayer[] = head.layers.map((layer) => ({
      serialized: serializeLayer(layer), name: layer.name, trainable: layer.trainable, freshReason: 'not mapped: fresh initial weights',
    }));
    const targetNames = plan.map((p) => p.name);
    if (options.map !== undefined) {
      for (const { from, to } of resolveMap(options.map, source, targetNames, false)) {
        const [a, b] = [source.layers[from], head.layers[to]];
        if (a.className !== b.className) {
          throw new RnnError('ARGUMENT', `Expected map to pair layers of the same class but source '${a.name}' is ${a.className} and target '${b.name}' is ${b.className}`);
        }
        plan[to].source = { layer: a, index: from };
      }
    } else {
      const shared = Math.min(source.layers.length, head.layers.length) - 1;
      for (let i = 0; i < shared; i++) {
        if (!hasWeights(source, i)) continue;
        if (source.layers[i].className === head.layers[i].className) plan[i].source = { layer: source.layers[i], index: i };
        else plan[i].freshReason = `source layer ${i} is a ${source.layers[i].className}: fresh initial weights`;
      }
    }
    return plan;
  }

  const spec = optionsOrEmpty(head as TransferHead, 'head');
  checkKnownKeys(spec, ['units', 'activation', 'name'], 'head (a head spec { units, activation, name })');
  const units = checkInteger(spec.units, 'head.units', { min: 1 });
  const activation = checkActivation(spec.activation ?? 'softmax', 'head.activation');
  if (source.layers.length < 2) {
    throw new RnnError('ARGUMENT', `Expected a source model with at least two layers (a body and a head to replace) but '${source.name}' has ${source.layers.length}`);
  }
  const body = source.layers.slice(0, -1);
  const plan: PlannedLayer[] = body.map((layer) => ({
    serialized: serializeLayer(layer), name: layer.name, trainable: true, freshReason: 'not in map: fresh initial weights',
  }));
  const pairs = options.map === undefined
    ? body.map((_, i) => ({ from: i, to: i, rename: undefined as string | undefined }))
    : resolveMap(options.map, source, plan.map((p) => p.name), true);
  for (const { from, to, rename } of pairs) {
    plan[to].source = { layer: source.layers[from], index: from };
    if (rename !== undefined) plan[to].name = rename;
  }
  let headName = spec.name;
  if (headName === undefined) {
    headName = 'head';
    for (let k = 1; plan.some((p) => p.name === headName); k++) headName = `head_${k}`;
  }
  plan.push({
    serialized: { className: 'Dense', config: { units, activation } }, name: headName, trainable: true,
    freshReason: `new head (replaces '${source.layers[source.layers.length - 1].name}')`,
  });
  return plan;
}

function resolveFreeze(freeze: unknown, plan: PlannedLayer[], source: Sequential): Set<string> {
  if (freeze === undefined || freeze === false) return new Set();
  if (freeze === true) return new Set(plan.filter((p) => p.source && hasWeights(source, p.source.index)).map((p) => p.name));
  if (!Array.isArray(freeze)) throw invalid('ARGUMENT', 'true, false or a list of layer names', 'freeze', freeze);
  const names = plan.map((p) => p.name);
  freeze.forEach((name, i) => {
    if (typeof name !== 'string' || !names.includes(name)) {
      throw invalid('ARGUMENT', `a layer name of the new model (${names.map((n) => `'${n}'`).join(', ')})`, `freeze[${i}]`, name);
    }
  });
  return new Set(freeze as string[]);
}

const INPUT_KERNEL = /(^|\/)kernel$/;

/** @internal Source values for one weight, adapted to the new shape when allowed; `undefined` values mean keep fresh ones. */
export function carryWeight(
  layerName: string, weightName: string, from: Tensor, fresh: Tensor, adapter: InputAdapter | undefined,
): { values?: Float32Array; action: WeightTransfer['action']; reason: string } {
  const [a, b] = [from.shape, fresh.shape];
  if (a.length === b.length && a.every((d, i) => d === b[i])) return { values: from.data.slice(), action: 'copied', reason: 'same shape' };
  const rowsOnly = a.length === 2 && b.length === 2 && a[1] === b[1] && INPUT_KERNEL.test(weightName);
  if (!rowsOnly || adapter === undefined) {
    const hint = rowsOnly ? "; the input feature count differs, so pass inputAdapter: 'expand' or 'reinitialize'" : '';
    throw new RnnError('SHAPE', `Expected weight '${weightName}' of layer '${layerName}' to have the source's shape [${a.join(', ')}] but the new model needs [${b.join(', ')}]${hint}`);
  }
  const features = `input features ${a[0]} -> ${b[0]}`;
  if (adapter === 'reinitialize') return { action: 'reinitialised', reason: `${features}, inputAdapter 'reinitialize'` };
  // Row f of an input kernel holds feature f's weights into every gate: keep the rows of the shared features.
  const shared = Math.min(a[0], b[0]);
  const values = fresh.data.slice();
  values.set(from.data.subarray(0, shared * a[1]));
  const rest = b[0] > shared ? `, rows ${shared}-${b[0] - 1} initialised` : `, source rows ${shared}-${a[0] - 1} dropped`;
  return { values, action: 'adapted', reason: `${features}, inputAdapter 'expand': rows 0-${shared - 1} copied${rest}` };
}

/**
 * A new model for the target domain from a trained source model, and a report of what happened to every weight.
 * The source is not modified and shares nothing with the result. The result is not compiled.
 */
export function transfer(source: Sequential, options: TransferOptions & { head: TransferHead | Sequential }): TransferResult;
/** The same for graphs: layers mapped by name; the result is a functional model. */
export function transfer(source: Model, options: TransferOptions): TransferResult<Model>;
export function transfer(source: Model, options: TransferOptions): TransferResult<Model> {
  if (!(source instanceof Model)) throw invalid('ARGUMENT', 'a model (rk.sequential or rk.model)', 'source', source);
  if (source.layers.length === 0) throw new RnnError('ARGUMENT', `Expected a source model with layers but '${source.name}' has none`);
  const opts = optionsOrEmpty(options, 'transfer options');
  checkKnownKeys(opts, TRANSFER_KEYS, 'transfer options');
  if (opts.head === undefined) throw new RnnError('ARGUMENT', 'Expected head ({ units, activation } or a target Sequential) in transfer options but received undefined');
  const adapter = opts.inputAdapter === undefined ? undefined : checkOneOf(opts.inputAdapter, 'inputAdapter', INPUT_ADAPTERS);
  if (opts.inputShape !== undefined) {
    if (!Array.isArray(opts.inputShape) || opts.inputShape.length === 0) throw invalid('ARGUMENT', 'a non-empty array of positive integers', 'inputShape', opts.inputShape);
    opts.inputShape.forEach((d, i) => checkInteger(d, `inputShape[${i}]`, { min: 1 }));
  }
  if (opts.name !== undefined && (typeof opts.name !== 'string' || opts.name.length === 0)) throw invalid('ARGUMENT', 'a non-empty string', 'name', opts.name);

  if (needsGraphTransfer(source, opts.head)) {
    if (opts.inputShape !== undefined) {
      throw new RnnError('ARGUMENT', `Expected no inputShape when transferring to or from a functional model (the new model's inputs are the target's or the source's) but received [${opts.inputShape.join(', ')}]`);
    }
    return transferGraph(source, { head: opts.head, map: opts.map, freeze: opts.freeze, adapter, name: opts.name });
  }
  if (!(source instanceof Sequential)) throw invalid('ARGUMENT', 'a Sequential model', 'source', source);
  const plan = planLayers(source, opts as TransferOptions & { head: TransferHead | Sequential });
  const frozen = resolveFreeze(opts.freeze, plan, source);
  const model = new Sequential({ name: opts.name ?? `${source.name}_transfer` });
  plan.forEach((p, i) => {
    // Only the first layer states an input shape: later ones follow from it, even when the time length changes.
    const inputShape = i === 0 ? (opts.inputShape ?? p.serialized.config.inputShape) : undefined;
    const layer = layerFromConfig(p.serialized, `layer ${i}`, { name: p.name, inputShape, trainable: p.trainable && !frozen.has(p.name) });
    model.add(layer);
  });

  const entries: WeightTransfer[] = [];
  plan.forEach((p, i) => {
    const layer = model.layers[i];
    const specs = layer.weightSpecs(model.layerInputShape(i));
    if (specs.length === 0) return;
    const current = layer.getWeights();
    if (!p.source) {
      specs.forEach((spec, k) => entries.push({ layer: p.name, weight: spec.name, action: 'reinitialised', shape: current[k].shape.slice(), reason: p.freshReason }));
      return;
    }
    const from = p.source.layer.getWeights();
    const fromSpecs = p.source.layer.weightSpecs(source.layerInputShape(p.source.index));
    if (fromSpecs.length !== specs.length || fromSpecs.some((s, k) => s.name !== specs[k].name)) {
      throw new RnnError('SHAPE', `Expected layer '${p.name}' to have the weights of source layer '${p.source.layer.name}' (${fromSpecs.map((s) => s.name).join(', ')}) but it has (${specs.map((s) => s.name).join(', ')})`);
    }
    const values = specs.map((spec, k) => {
      const carried = carryWeight(p.name, spec.name, from[k], current[k], adapter);
      entries.push({
        layer: p.name, weight: spec.name, action: carried.action, shape: current[k].shape.slice(),
        sourceLayer: p.source!.layer.name, sourceShape: from[k].shape.slice(), reason: carried.reason,
      });
      return new Tensor(carried.values ?? current[k].data.slice(), current[k].shape);
    });
    layer.setWeights(values);
  });
  for (const entry of entries) {
    // A frozen layer never trains, so fresh values in it stay random: say so where it happens.
    if (frozen.has(entry.layer) && entry.action !== 'copied') entry.reason += '; frozen, so the initialised values never train';
  }
  return { model, report: new TransferReport(entries, plan.filter((p) => frozen.has(p.name)).map((p) => p.name)) };
}
