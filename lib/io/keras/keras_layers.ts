/**
 * One layer's config between Keras and rnnkit. Keras configs are the tfjs/Keras JSON of tfjs_config.ts (snake_case
 * keys, `{ class_name, config }`) plus what Keras adds: in Keras 3 every object is `serialize_keras_object`'s
 * `{ module, class_name, config, registered_name }`, layers carry a `dtype` policy, RNNs a `seed` and
 * `zero_output_for_mask`, Bidirectional a `backward_layer`; Keras 2 RNNs carry `time_major`. A Keras config is
 * normalised to the tfjs form (checking each Keras-only key is at a value rnnkit computes the same way) and then
 * read by tfjs_config.ts's strict reader, so a key or value rnnkit does not have is still an error naming it.
 *
 * Activations: Keras 3's 'hard_sigmoid' is relu6(x + 3) / 6, not Keras 2's clip(0.2 x + 0.5) that rnnkit runs, so
 * it is refused in Keras 3 files (and rnnkit's hardSigmoid is refused when writing them).
 */
import { RnnError } from '../../errors';
import type { SerializedLayer } from '../../layers/registry';
import { describeValue, isPlainObject } from '../../validate';
import { fromTfjsLayer, toTfjsLayer } from '../tfjs_config';
import { ATTENTION_CLASSES, fromKerasAttention, toKeras3AttentionConfig } from './keras_attention';

/** Which Keras wrote (or will read) a config: Keras 3 (`.keras`) or Keras 2 (legacy `.h5`). */
export type KerasFlavor = 'keras3' | 'keras2';

/** Layer classes rnnkit imports from and exports to Keras. */
export const KERAS_LAYER_CLASSES = [
  'SimpleRNN', 'LSTM', 'GRU', 'Dense', 'Dropout', 'Masking', 'Embedding', 'Bidirectional', 'TimeDistributed',
  'RepeatVector', 'Reshape', 'Flatten', 'Concatenate', 'Add', 'Subtract', 'Multiply', 'Average', 'Maximum',
  'Attention', 'AdditiveAttention',
] as const;
const RECURRENT = new Set(['SimpleRNN', 'LSTM', 'GRU']);

/** Keras 3 class names of initializers whose tfjs names differ. */
const KERAS3_INITIALIZER_NAMES: Record<string, string> = { Orthogonal: 'OrthogonalInitializer', Identity: 'IdentityInitializer' };

const isNull = (v: unknown) => v === null || v === undefined;

function fail(file: string, where: string, what: string, value: unknown): never {
  throw new RnnError('FORMAT', `${file}: expected ${what} for ${where} but received ${describeValue(value)}`);
}

/** A `{ class_name, config }` entry checked, with Keras 3's module/registered_name checked and set aside. */
export function kerasObject(entry: unknown, where: string, file: string): { className: string; config: Record<string, unknown> } {
  if (!isPlainObject(entry) || typeof entry.class_name !== 'string' || !isPlainObject(entry.config)) fail(file, where, '{ class_name, config }', entry);
  if (!isNull(entry.registered_name) && entry.registered_name !== entry.class_name) {
    throw new RnnError('FORMAT', `${file}: ${where} (${entry.class_name}) is a custom registered object '${String(entry.registered_name)}', which rnnkit cannot import`);
  }
  return { className: entry.class_name, config: entry.config };
}

/** Initializers and regularizers without Keras 3's wrapper keys (and with tfjs's class names). */
function plainObject(value: unknown, where: string, file: string): unknown {
  if (!isPlainObject(value)) return value;
  const { className, config } = kerasObject(value, where, file);
  const tfjsName = Object.entries(KERAS3_INITIALIZER_NAMES).find(([, keras]) => keras === className)?.[0];
  return { class_name: tfjsName ?? className, config };
}

/** A float32 dtype: 'float32', null, or Keras 3's DTypePolicy { name: 'float32' }. */
function checkDtype(value: unknown, where: string, file: string): void {
  if (isNull(value) || value === 'float32') return;
  if (isPlainObject(value) && isPlainObject(value.config) && value.config.name === 'float32') return;
  fail(file, where, "the 'float32' dtype (rnnkit computes in float32)", isPlainObject(value) && isPlainObject(value.config) ? value.config.name : value);
}

/** The tfjs form of a Keras layer entry at `where` (e.g. `config.layers[3]`). */
function normalize(entry: unknown, where: string, file: string, flavor: KerasFlavor): Record<string, unknown> {
  const { className, config: original } = kerasObject(entry, where, file);
  if (!(KERAS_LAYER_CLASSES as readonly string[]).includes(className)) {
    throw new RnnError('FORMAT', `${file}: ${where} (${className}) is a layer class rnnkit cannot import; it imports ${KERAS_LAYER_CLASSES.join(', ')}`);
  }
  const config: Record<string, unknown> = { ...original };
  const take = (key: string): unknown => {
    const value = config[key];
    delete config[key];
    return value;
  };
  checkDtype(take('dtype'), `${where}.config.dtype`, file);
  for (const key of ['lora_rank', 'lora_alpha', 'quantization_config']) {
    const value = take(key);
    if (!isNull(value)) fail(file, `${where}.config.${key}`, 'null (rnnkit has no LoRA or quantized layers)', value);
  }
  for (const [key, value] of Object.entries(config)) {
    if (key.endsWith('_initializer') || key.endsWith('_regularizer')) config[key] = plainObject(value, `${where}.config.${key}`, file);
    if (flavor === 'keras3' && (key === 'activation' || key === 'recurrent_activation') && value === 'hard_sigmoid') {
      fail(file, `${where}.config.${key}`, "an activation rnnkit computes as Keras 3 does (Keras 3's hard_sigmoid is relu6(x + 3) / 6; rnnkit's is Keras 2's clip(0.2 x + 0.5, 0, 1))", value);
    }
  }
  if (RECURRENT.has(className)) {
    const seed = take('seed');
    if (!isNull(seed) && typeof seed !== 'number') fail(file, `${where}.config.seed`, 'a number or null', seed);
    const cudnn = take('use_cudnn'); // which kernel computes, not what
    if (!isNull(cudnn) && cudnn !== 'auto' && typeof cudnn !== 'boolean') fail(file, `${where}.config.use_cudnn`, "'auto' or a boolean", cudnn);
    const timeMajor = take('time_major');
    if (!isNull(timeMajor) && timeMajor !== false) fail(file, `${where}.config.time_major`, 'false (rnnkit takes batch-major sequences)', timeMajor);
    // What Keras outputs at masked steps: zeros (rnnkit's behaviour; forced inside Bidirectional) or, when false, the
    // last output repeated. Whether that difference can reach the model's output is decided for the whole model
    // (keras_model.ts checkMaskedSequences).
    const zeroOutput = take('zero_output_for_mask');
    if (!isNull(zeroOutput) && typeof zeroOutput !== 'boolean') fail(file, `${where}.config.zero_output_for_mask`, 'a boolean', zeroOutput);
  }
  if (className === 'Bidirectional') {
    // merge_mode None: the two directions' outputs unmerged (rnnkit's mergeMode null); Keras always writes the key.
    if (config.merge_mode === undefined) fail(file, `${where}.config.merge_mode`, "'concat', 'sum', 'mul', 'ave' or null", config.merge_mode);
    config.layer = normalize(config.layer, `${where}.config.layer`, file, flavor);
    // Keras names the forward copy 'forward_<name>' (and strips that prefix before adding it again): so does rnnkit.
    const inner = (config.layer as { config: Record<string, unknown> }).config;
    if (typeof inner.name === 'string' && inner.name.startsWith('forward_') && inner.name.length > 8) inner.name = inner.name.slice(8);
    const backward = take('backward_layer');
    if (!isNull(backward)) checkBackwardLayer(config.layer as Record<string, unknown>, normalize(backward, `${where}.config.backward_layer`, file, flavor), `${where}.config.backward_layer`, file);
  }
  if (className === 'TimeDistributed') config.layer = normalize(config.layer, `${where}.config.layer`, file, flavor);
  return { class_name: className, config };
}

/** Keras's backward layer must be the forward one run backwards; rnnkit's Bidirectional has no other form. */
function checkBackwardLayer(forward: Record<string, unknown>, backward: Record<string, unknown>, where: string, file: string): void {
  const f = forward.config as Record<string, unknown>;
  const b = backward.config as Record<string, unknown>;
  const differing = [...new Set([...Object.keys(f), ...Object.keys(b)])]
    .filter((key) => key !== 'name' && key !== 'go_backwards' && JSON.stringify(f[key]) !== JSON.stringify(b[key]));
  if (backward.class_name !== forward.class_name || differing.length > 0 || Boolean(b.go_backwards) === Boolean(f.go_backwards)) {
    throw new RnnError('FORMAT', `${file}: expected ${where} to be the forward layer with go_backwards flipped (rnnkit's Bidirectional runs one config both ways) but it differs in ${differing.length > 0 ? differing.join(', ') : 'class or go_backwards'}`);
  }
}

/** An rnnkit serialized layer from a Keras layer entry at `where`. */
export function fromKerasLayer(entry: unknown, where: string, file: string, flavor: KerasFlavor): SerializedLayer {
  const tfjs = normalize(entry, where, file, flavor);
  if (ATTENTION_CLASSES.has(tfjs.class_name as string)) return fromKerasAttention(tfjs.class_name as string, tfjs.config as Record<string, unknown>, where, file);
  // tfjs has no Subtract, so its reader does not know the class; Keras's Subtract config is the base Layer's, as Add's.
  if (tfjs.class_name === 'Subtract') return { className: 'Subtract', config: fromTfjsLayer({ ...tfjs, class_name: 'Add' }, where, file).config };
  return fromTfjsLayer(tfjs, where, file);
}

const FLOAT32_POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

/** Keras 3 `serialize_keras_object` form of an initializer or regularizer (tfjs form in). */
function keras3Object(value: unknown, module: string): unknown {
  if (!isPlainObject(value)) return value;
  const className = String(value.class_name);
  return { module, class_name: KERAS3_INITIALIZER_NAMES[className] ?? className, config: value.config, registered_name: null };
}

/** tfjs has no reset-after GRU, so toTfjsLayer refuses one: it is written with resetAfter false, then restored. */
function withoutResetAfter(layer: SerializedLayer): SerializedLayer {
  if (layer.className === 'GRU') return { className: 'GRU', config: { ...layer.config, resetAfter: false } };
  if (layer.className !== 'Bidirectional') return layer;
  return { className: 'Bidirectional', config: { ...layer.config, layer: withoutResetAfter(layer.config.layer as SerializedLayer) } };
}

/**
 * The Keras 3 entry of an rnnkit layer, as `serialize_keras_object(layer)` writes it: module, class_name, config
 * (the layer's `get_config`), registered_name and, when built, build_config with the batch input shape.
 */
export function toKeras3Layer(layer: SerializedLayer, batchInputShape?: Array<number | null>, inBidirectional = false): Record<string, unknown> {
  if (ATTENTION_CLASSES.has(layer.className)) {
    return {
      module: 'keras.layers', class_name: layer.className, registered_name: null,
      config: { ...toKeras3AttentionConfig(layer), dtype: FLOAT32_POLICY },
      ...(batchInputShape ? { build_config: { input_shape: batchInputShape } } : {}),
    };
  }
  const subtract = layer.className === 'Subtract'; // tfjs has no Subtract; Keras writes it as Add's (base Layer) config
  const tfjs = toTfjsLayer(withoutResetAfter(subtract ? { className: 'Add', config: layer.config } : layer)) as { class_name: string; config: Record<string, unknown> };
  if (subtract) tfjs.class_name = 'Subtract';
  const config = tfjs.config;
  if (layer.className === 'GRU') config.reset_after = layer.config.resetAfter;
  for (const key of ['activation', 'recurrent_activation']) {
    if (config[key] === 'hard_sigmoid') {
      throw new RnnError('FORMAT', `Expected an activation Keras 3 computes as rnnkit does for ${key} of layer '${String(config.name)}' but it is hardSigmoid (Keras 3's hard_sigmoid is relu6(x + 3) / 6, rnnkit's clip(0.2 x + 0.5, 0, 1))`);
    }
  }
  for (const [key, value] of Object.entries(config)) {
    if (key.endsWith('_initializer')) config[key] = keras3Object(value, 'keras.initializers');
    if (key.endsWith('_regularizer')) config[key] = keras3Object(value, 'keras.regularizers');
  }
  const out: Record<string, unknown> = { name: config.name, trainable: config.trainable, dtype: FLOAT32_POLICY, ...config };
  if (RECURRENT.has(tfjs.class_name)) {
    delete out.implementation; // a Keras 2 / tfjs argument that Keras 3's constructors do not take
    out.seed = null;
    // rnnkit writes zeros at masked steps of a returned sequence: zero_output_for_mask true makes Keras do the same
    // (Bidirectional forces that on its layers anyway; without a mask it changes nothing).
    out.zero_output_for_mask = config.return_sequences;
  }
  // Keras 3's Dense.get_config lists no activity_regularizer (Layer.get_config adds it only when one is set).
  if (tfjs.class_name === 'Dense' && out.activity_regularizer === null) delete out.activity_regularizer;
  // Keras's Flatten.get_config writes the data format it resolved (channels_last), tfjs nothing.
  if (tfjs.class_name === 'Flatten') out.data_format = 'channels_last';
  if (tfjs.class_name === 'Bidirectional') {
    const inner = layer.config.layer as SerializedLayer;
    const forwardName = `forward_${String(inner.config.name).replace(/^forward_/, '')}`;
    const backwardName = `backward_${String(inner.config.name).replace(/^forward_/, '')}`;
    out.layer = toKeras3Layer({ className: inner.className, config: { ...inner.config, name: forwardName } }, batchInputShape, true);
    out.backward_layer = toKeras3Layer({ className: inner.className, config: { ...inner.config, name: backwardName, goBackwards: !inner.config.goBackwards } }, batchInputShape, true);
  }
  if (tfjs.class_name === 'TimeDistributed') {
    const inner = layer.config.layer as SerializedLayer;
    out.layer = toKeras3Layer(inner, batchInputShape ? [batchInputShape[0], ...batchInputShape.slice(2)] : undefined);
  }
  return {
    module: 'keras.layers', class_name: tfjs.class_name, config: out, registered_name: null,
    ...(batchInputShape ? { build_config: { input_shape: batchInputShape } } : {}),
  };
}
