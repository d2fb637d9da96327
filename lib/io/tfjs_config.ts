/**
 * Layer configs between rnnkit (camelCase, `{ className, config }`) and the Keras-style JSON that tfjs writes in
 * model.json (`{ class_name, config }`, snake_case keys, snake_case string values such as 'hard_sigmoid',
 * initializers and regularizers as `{ class_name, config }`). Only the layers both libraries share are mapped.
 * Reading is strict: a key rnnkit does not know, or a tfjs feature it does not have (constraints, stateful RNNs,
 * activity regularizers, ...), is a FORMAT error naming it rather than something silently dropped.
 */
import { RnnError } from '../errors';
import type { InitializerSpec } from '../initializers';
import type { SerializedLayer } from '../layers/registry';
import { describeValue, isPlainObject } from '../validate';
import { tfjsInitializer, tfjsRegularizer, fromTfjsActivation, fromTfjsInitializer, fromTfjsRegularizer, toSnakeCase } from './tfjs_values';

type FieldKind = 'plain' | 'activation' | 'initializer' | 'regularizer' | 'layer' | 'targetShape';
type Field = readonly [ourKey: string, kind: FieldKind];

const COMMON: Field[] = [['name', 'plain'], ['trainable', 'plain']];
const RECURRENT: Field[] = [
  ...COMMON, ['units', 'plain'], ['activation', 'activation'], ['useBias', 'plain'],
  ['kernelInitializer', 'initializer'], ['recurrentInitializer', 'initializer'], ['biasInitializer', 'initializer'],
  ['kernelRegularizer', 'regularizer'], ['recurrentRegularizer', 'regularizer'], ['biasRegularizer', 'regularizer'],
  ['dropout', 'plain'], ['recurrentDropout', 'plain'], ['returnSequences', 'plain'], ['returnState', 'plain'],
  ['goBackwards', 'plain'],
];
const FIELDS: Record<string, Field[]> = {
  SimpleRNN: RECURRENT,
  LSTM: [...RECURRENT, ['recurrentActivation', 'activation'], ['unitForgetBias', 'plain']],
  GRU: [...RECURRENT, ['recurrentActivation', 'activation'], ['resetAfter', 'plain']],
  Dense: [
    ...COMMON, ['units', 'plain'], ['activation', 'activation'], ['useBias', 'plain'], ['kernelInitializer', 'initializer'],
    ['biasInitializer', 'initializer'], ['kernelRegularizer', 'regularizer'], ['biasRegularizer', 'regularizer'],
  ],
  Dropout: [...COMMON, ['rate', 'plain']],
  Masking: [...COMMON, ['maskValue', 'plain']],
  Embedding: [
    ...COMMON, ['inputDim', 'plain'], ['outputDim', 'plain'], ['maskZero', 'plain'],
    ['embeddingsInitializer', 'initializer'], ['embeddingsRegularizer', 'regularizer'],
  ],
  Bidirectional: [...COMMON, ['mergeMode', 'plain'], ['layer', 'layer']],
  TimeDistributed: [...COMMON, ['layer', 'layer']],
  Concatenate: [...COMMON, ['axis', 'plain']],
  Add: COMMON,
  // No Subtract: tfjs has no such layer (tf.loadLayersModel would refuse the file), so the format refuses it by name.
  Multiply: COMMON,
  Average: COMMON,
  Maximum: COMMON,
  RepeatVector: [...COMMON, ['n', 'plain']],
  Reshape: [...COMMON, ['targetShape', 'targetShape']],
  Flatten: COMMON,
};

const isNull = (v: unknown) => v === null || v === undefined;
const isFalse = (v: unknown) => isNull(v) || v === false;

/** A key tfjs writes that has no rnnkit option: the value written, and when a value read is acceptable. */
type TfjsOnlyKey = readonly [key: string, written: unknown, accept: (v: unknown) => boolean, meaning: string];
const NO_ACTIVITY_REGULARIZER: TfjsOnlyKey = ['activity_regularizer', null, isNull, 'null (no activity regularizer)'];
const noConstraint = (key: string): TfjsOnlyKey => [key, null, isNull, 'null (no constraint)'];
const RECURRENT_ONLY: TfjsOnlyKey[] = [
  NO_ACTIVITY_REGULARIZER, noConstraint('kernel_constraint'), noConstraint('recurrent_constraint'), noConstraint('bias_constraint'),
  // Stateful layers: read and written next to this list (true becomes the rnnkit option, with the batch size).
  ['stateful', false, (v) => isNull(v) || typeof v === 'boolean', 'a boolean'],
  // Unrolling and the implementation mode change how tfjs computes, not what.
  ['unroll', false, (v) => isNull(v) || typeof v === 'boolean', 'a boolean'],
];
const GATED_ONLY: TfjsOnlyKey[] = [...RECURRENT_ONLY, ['implementation', null, (v) => isNull(v) || v === 1 || v === 2, 'null, 1 or 2']];
/**
 * Per class, the tfjs keys without an rnnkit option: written with the given value, and accepted on reading only
 * when the feature is off or does not change the numbers (a dropout seed only changes which units drop).
 */
const TFJS_ONLY: Record<string, TfjsOnlyKey[]> = {
  SimpleRNN: RECURRENT_ONLY,
  LSTM: GATED_ONLY,
  GRU: GATED_ONLY,
  Dense: [NO_ACTIVITY_REGULARIZER, noConstraint('kernel_constraint'), noConstraint('bias_constraint')],
  Dropout: [
    ['noise_shape', null, isNull, 'null (one mask value per element)'],
    ['seed', null, (v) => isNull(v) || typeof v === 'number', 'a number or null'],
  ],
  Masking: [],
  Embedding: [NO_ACTIVITY_REGULARIZER, noConstraint('embeddings_constraint')],
  Bidirectional: [],
  TimeDistributed: [],
  Concatenate: [],
  Add: [],
  Multiply: [],
  Average: [],
  Maximum: [],
  RepeatVector: [],
  Reshape: [],
  // Keras writes 'channels_last', tfjs nothing; channels_first would move the features first before flattening.
  Flatten: [['data_format', null, (v) => isNull(v) || v === 'channels_last', "'channels_last' or null"]],
};

/** Keys about the input that any layer may carry in tfjs/Keras files. */
const INPUT_KEYS = ['batch_input_shape', 'input_shape', 'batch_size', 'dtype', 'input_length'];

/** tfjs `{ class_name, config }` of a layer; `batchInputShape` is given for the first layer of the model. */
export function toTfjsLayer(layer: SerializedLayer, batchInputShape?: readonly number[]): Record<string, unknown> {
  const fields = FIELDS[layer.className];
  if (!fields) throw new RnnError('FORMAT', `Expected a layer tfjs can represent for the tfjs format but layer '${String(layer.config.name)}' is of class ${layer.className}, which tfjs does not have`);
  if (layer.className === 'GRU' && layer.config.resetAfter === true) {
    throw new RnnError('FORMAT', `Expected resetAfter false for GRU layer '${String(layer.config.name)}' in the tfjs format (tfjs has no reset-after GRU) but received true; build it with rk.layers.gru({ resetAfter: false, ... })`);
  }
  const config: Record<string, unknown> = {};
  for (const [key, kind] of fields) {
    const value = layer.config[key];
    if (kind === 'plain' || kind === 'targetShape') config[toSnakeCase(key)] = value === undefined ? null : value;
    else if (kind === 'activation') config[toSnakeCase(key)] = toSnakeCase(value as string);
    else if (kind === 'initializer') config[toSnakeCase(key)] = tfjsInitializer(value as InitializerSpec);
    else if (kind === 'regularizer') config[toSnakeCase(key)] = tfjsRegularizer(value);
    else config.layer = toTfjsLayer(value as SerializedLayer);
  }
  for (const [key, written] of TFJS_ONLY[layer.className]) config[key] = written;
  if (layer.config.stateful === true) config.stateful = true;
  if (batchInputShape) {
    // -1 is rnnkit's time dimension of any length; Keras and tfjs write it as null. A fixed batch size (stateful
    // models) is written first.
    const dims = batchInputShape.map((d) => (d === -1 ? null : d));
    const batch = Array.isArray(layer.config.batchInputShape) ? layer.config.batchInputShape[0] as number : null;
    config.batch_input_shape = [batch, ...dims];
    config.dtype = 'float32';
    if (layer.className === 'Embedding') config.input_length = dims[0];
  }
  return { class_name: layer.className, config };
}

/** Reads tfjs layer entries into rnnkit serialized layers; tracks which keys were used so the rest can be refused. */
class ConfigReader {
  private readonly used = new Set<string>();

  constructor(private readonly config: Record<string, unknown>, private readonly where: string, private readonly file: string) {}

  take(key: string): unknown {
    this.used.add(key);
    return Object.prototype.hasOwnProperty.call(this.config, key) ? this.config[key] : undefined;
  }

  fail(key: string, what: string, value: unknown): never {
    throw new RnnError('FORMAT', `${this.file}: expected ${what} for ${this.where}.${key} but received ${describeValue(value)}`);
  }

  /** Refuses every key that no field consumed. */
  finish(className: string): void {
    for (const key of Object.keys(this.config)) {
      if (!this.used.has(key)) {
        throw new RnnError('FORMAT', `${this.file}: ${this.where} (${className}) has the key '${key}', which rnnkit does not support`);
      }
    }
  }
}

/** The per-sample input shape in a `batch_input_shape` ([batch, ...dims]) or `input_shape` ([...dims]) value. */
function readInputShape(reader: ConfigReader): { shape: number[]; batch?: number } | undefined {
  const batchShape = reader.take('batch_input_shape');
  const shape = reader.take('input_shape');
  const batchSize = reader.take('batch_size');
  if (!isNull(batchSize) && !(Number.isSafeInteger(batchSize) && (batchSize as number) > 0)) reader.fail('batch_size', 'null or a positive integer', batchSize);
  const dtype = reader.take('dtype');
  if (!isNull(dtype) && dtype !== 'float32' && dtype !== 'int32') reader.fail('dtype', "'float32', 'int32' or null", dtype);
  const dims = !isNull(batchShape) ? batchShape : shape;
  if (isNull(dims)) return undefined;
  if (!Array.isArray(dims) || dims.length < (isNull(batchShape) ? 1 : 2)) reader.fail(isNull(batchShape) ? 'input_shape' : 'batch_input_shape', 'an array of dimensions', dims);
  const perSample = (isNull(batchShape) ? dims : dims.slice(1)) as unknown[];
  if (!isNull(batchShape) && !isNull(dims[0]) && !(Number.isSafeInteger(dims[0]) && (dims[0] as number) > 0)) {
    reader.fail('batch_input_shape', 'null or a positive batch size first', dims);
  }
  // The first per-sample dimension may be null: a time dimension of any length (-1 in rnnkit).
  if (!perSample.every((d, i) => (i === 0 && d === null) || (Number.isSafeInteger(d) && (d as number) > 0))) {
    reader.fail(isNull(batchShape) ? 'input_shape' : 'batch_input_shape', 'positive dimensions (null only for the time dimension)', `[${perSample.map((d) => describeValue(d)).join(', ')}]`);
  }
  const batch = !isNull(batchShape) && !isNull(dims[0]) ? dims[0] as number : undefined;
  return { shape: perSample.map((d) => (d === null ? -1 : d)) as number[], batch };
}

/** An rnnkit serialized layer (for layerFromConfig) from a tfjs `{ class_name, config }` entry. */
export function fromTfjsLayer(entry: unknown, where: string, file: string): SerializedLayer {
  if (!isPlainObject(entry) || typeof entry.class_name !== 'string' || !isPlainObject(entry.config)) {
    throw new RnnError('FORMAT', `${file}: expected { class_name, config } for ${where} but received ${describeValue(entry)}`);
  }
  const className = entry.class_name;
  const fields = Object.prototype.hasOwnProperty.call(FIELDS, className) ? FIELDS[className] : undefined;
  if (!fields) {
    throw new RnnError('FORMAT', `${file}: expected a layer class rnnkit shares with tfjs (${Object.keys(FIELDS).join(', ')}) for ${where} but received '${className}'`);
  }
  const reader = new ConfigReader(entry.config, where, file);
  const config: Record<string, unknown> = {};
  for (const [key, kind] of fields) {
    const snake = toSnakeCase(key);
    const value = reader.take(snake);
    if (kind === 'layer') {
      config.layer = fromTfjsLayer(value, `${where}.layer`, file);
    } else if (kind === 'targetShape') {
      // tfjs writes an inferred dimension as null, Keras as -1.
      config[key] = Array.isArray(value) ? value.map((d) => (d === null ? -1 : d)) : value;
    } else if (kind === 'activation') {
      if (!isNull(value)) config[key] = fromTfjsActivation(value, `${where}.${snake}`, file);
    } else if (kind === 'initializer') {
      if (!isNull(value)) config[key] = fromTfjsInitializer(value, `${where}.${snake}`, file);
    } else if (kind === 'regularizer') {
      const regularizer = fromTfjsRegularizer(value, `${where}.${snake}`, file);
      if (regularizer) config[key] = regularizer;
    } else if (key === 'mergeMode' && value === null) {
      config[key] = null; // Bidirectional: an explicit null is no merge (two outputs), as in tfjs and Keras
    } else if (!isNull(value)) {
      config[key] = value;
    } else if (key === 'unitForgetBias') {
      config[key] = false; // tfjs writes null when unset, and treats it as false (Keras' default is true)
    }
  }
  for (const [key, , accept, meaning] of TFJS_ONLY[className]) {
    const value = reader.take(key);
    if (!accept(value)) reader.fail(key, meaning, value);
    if (key === 'stateful' && value === true) config.stateful = true;
  }
  const input = readInputShape(reader);
  // A fixed batch size (Keras writes one only when it was given) is what stateful models need.
  if (input && input.batch !== undefined) {
    config.batchInputShape = [input.batch, ...input.shape];
  } else if (input) {
    config.inputShape = input.shape;
  }
  if (className === 'Embedding') {
    const inputLength = reader.take('input_length');
    if (!isNull(inputLength) && !config.inputShape) config.inputLength = inputLength;
  }
  for (const key of INPUT_KEYS) reader.take(key);
  reader.finish(className);
  return { className, config };
}

/**
 * An InputLayer entry of a tfjs/Keras graph: the input's name, per-sample shape (-1: any length), dtype and, when
 * the batch shape fixes one (stateful models), the batch size.
 */
export function fromTfjsInputLayer(config: Record<string, unknown>, where: string, file: string): { name: string; shape: number[]; dtype: 'float32' | 'int32'; batch?: number } {
  const reader = new ConfigReader(config, where, file);
  const name = reader.take('name');
  if (typeof name !== 'string' || name.length === 0) reader.fail('name', 'a non-empty string', name);
  const batchShape = reader.take('batch_input_shape') ?? reader.take('batch_shape');
  reader.take('batch_shape');
  const input = readInputShape(new ConfigReader({ batch_input_shape: batchShape }, where, file));
  if (!input) reader.fail('batch_input_shape', 'the input shape', batchShape);
  const dtype = reader.take('dtype');
  if (!isNull(dtype) && dtype !== 'float32' && dtype !== 'int32') reader.fail('dtype', "'float32', 'int32' or null", dtype);
  for (const key of ['sparse', 'ragged']) {
    const flag = reader.take(key);
    if (!isFalse(flag)) reader.fail(key, 'false (dense inputs only)', flag);
  }
  reader.finish('InputLayer');
  return { name: name as string, shape: input!.shape, dtype: dtype === 'int32' ? 'int32' : 'float32', ...(input!.batch === undefined ? {} : { batch: input!.batch }) };
}

/**
 * The model name and layers of a tfjs/Keras Sequential `modelTopology` (a leading InputLayer gives the input shape
 * to the first real layer); graphs (`class_name: 'Model'`) are read by tfjs_graph.ts.
 */
export function fromTfjsTopology(topology: Record<string, unknown>, file: string): { name: string; layers: SerializedLayer[] } {
  if (topology.class_name !== 'Sequential') {
    throw new RnnError('FORMAT', `${file}: expected class_name 'Sequential' or 'Model' in modelTopology but received ${describeValue(topology.class_name)}`);
  }
  const config = topology.config;
  const entries = Array.isArray(config) ? config : isPlainObject(config) ? config.layers : undefined;
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10000) {
    throw new RnnError('FORMAT', `${file}: expected a non-empty array of layers in modelTopology.config but received ${describeValue(entries)}`);
  }
  const name = isPlainObject(config) && typeof config.name === 'string' && config.name.length > 0 ? config.name : 'sequential';
  let inputShape: { shape: number[]; batch?: number } | undefined;
  const layers: SerializedLayer[] = [];
  entries.forEach((entry, i) => {
    const where = `modelTopology.config.layers[${i}]`;
    if (isPlainObject(entry) && entry.class_name === 'InputLayer') {
      if (i !== 0 || !isPlainObject(entry.config)) throw new RnnError('FORMAT', `${file}: expected an InputLayer only as the first entry, with a config, at ${where}`);
      const shape = entry.config.batch_input_shape ?? entry.config.batch_shape;
      inputShape = readInputShape(new ConfigReader({ batch_input_shape: shape }, where, file));
      return;
    }
    const layer = fromTfjsLayer(entry, where, file);
    if (layers.length === 0 && inputShape && layer.config.inputShape === undefined && layer.config.batchInputShape === undefined) {
      if (inputShape.batch !== undefined) layer.config.batchInputShape = [inputShape.batch, ...inputShape.shape];
      else layer.config.inputShape = inputShape.shape;
    }
    layers.push(layer);
  });
  return { name, layers };
}

