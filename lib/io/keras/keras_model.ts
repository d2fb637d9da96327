/**
 * A Keras model config read into, and written from, a model description: inputs, layers with the tensors each one
 * takes (inbound), outputs. Today rnnkit builds sequential models only, so a description is a chain (every layer's
 * inbound is the tensor before it); the functional graph reader fills the same description from a Functional
 * config's `layers[].inbound_nodes` and `input_layers` / `output_layers`.
 *
 * Keras 3 (`config.json` of a .keras file): `{ module: 'keras', class_name: 'Sequential', config: { name, trainable,
 * dtype, layers: [InputLayer { batch_shape, dtype, sparse, name }, ...] }, registered_name, build_config }`.
 * Keras 2 (`model_config` attribute of a legacy .h5): `{ class_name: 'Sequential', config: { name, layers } }`, the
 * input shape as an InputLayer's `batch_input_shape` or on the first layer.
 */
import { RnnError } from '../../errors';
import { layerFromConfig, serializeLayer, SerializedLayer } from '../../layers/registry';
import { Sequential } from '../../models/sequential';
import { describeValue, isPlainObject } from '../../validate';
import { asFormatError } from '../model_plan';
import { fromKerasLayer, KerasFlavor, kerasObject, toKeras3Layer } from './keras_layers';

/** One layer of a model description: its rnnkit config, where it sits in the Keras config, the tensors it takes. */
export interface DescribedLayer {
  layer: SerializedLayer;
  /** The path of the layer's entry in the Keras config, e.g. `config.layers[3]`. */
  where: string;
  /** Names of the tensors the layer takes (an input's name or another layer's name). */
  inbound: string[];
}

/** A model as Keras configs describe it. */
export interface KerasModelDescription {
  name: string;
  /** Each input's per-sample shape; `batch` is a fixed batch size (stateful models), absent when any. */
  inputs: Array<{ name: string; shape: number[]; dtype: 'float32' | 'int32'; batch?: number }>;
  layers: DescribedLayer[];
  outputs: string[];
}

const MAX_LAYERS = 10000;

/**
 * The per-sample dims of a batch shape `[batch, ...dims]` (a null first dim, Keras's `Input(shape=(None, F))`, is a
 * time dimension of any length: -1 in rnnkit), with the batch size when it is fixed (not null).
 */
function readBatchShape(value: unknown, where: string, file: string): { shape: number[]; batch?: number } {
  if (!Array.isArray(value) || value.length < 2 || !(value[0] === null || (Number.isSafeInteger(value[0]) && value[0] > 0))) {
    throw new RnnError('FORMAT', `${file}: expected a batch shape [batch, ...dims] for ${where} but received ${describeValue(value)}`);
  }
  const dims = value.slice(1);
  if (!dims.every((d, i) => (i === 0 && d === null) || (Number.isSafeInteger(d) && d > 0))) {
    throw new RnnError('FORMAT', `${file}: expected positive dimensions after the batch in ${where} (null only for the time dimension) but received [${value.map((d) => describeValue(d)).join(', ')}]`);
  }
  return { shape: dims.map((d) => (d === null ? -1 : d)) as number[], ...(value[0] === null ? {} : { batch: value[0] as number }) };
}

/** The input of an InputLayer entry at `where`. */
function readInputLayer(config: Record<string, unknown>, where: string, file: string): KerasModelDescription['inputs'][number] {
  for (const key of Object.keys(config)) {
    if (!['batch_shape', 'batch_input_shape', 'dtype', 'sparse', 'ragged', 'name', 'optional'].includes(key)) {
      throw new RnnError('FORMAT', `${file}: ${where} (InputLayer) has the key '${key}', which rnnkit does not support`);
    }
  }
  for (const key of ['sparse', 'ragged', 'optional']) {
    if (config[key] !== undefined && config[key] !== null && config[key] !== false) {
      throw new RnnError('FORMAT', `${file}: expected false for ${where}.config.${key} but received ${describeValue(config[key])}`);
    }
  }
  const dtype = config.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int32') throw new RnnError('FORMAT', `${file}: expected 'float32' or 'int32' for ${where}.config.dtype but received ${describeValue(dtype)}`);
  const name = typeof config.name === 'string' && config.name.length > 0 ? config.name : 'input_layer';
  return { name, ...readBatchShape(config.batch_shape ?? config.batch_input_shape, `${where}.config.batch_shape`, file), dtype };
}

/** The description of a Keras model config (`config.json` or `model_config`). */
export function readKerasModelConfig(raw: unknown, file: string, flavor: KerasFlavor): KerasModelDescription {
  const { className, config } = kerasObject(raw, 'the model config', file);
  if (className !== 'Sequential') {
    throw new RnnError('FORMAT', `${file}: the model config (${className}) is not a Sequential model; rnnkit imports Sequential Keras models (functional graphs follow with rnnkit's functional models)`);
  }
  const entries = config.layers;
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_LAYERS) {
    throw new RnnError('FORMAT', `${file}: expected a non-empty array of layers in config.layers but received ${describeValue(entries)}`);
  }
  const name = typeof config.name === 'string' && config.name.length > 0 ? config.name : 'sequential';
  const description: KerasModelDescription = { name, inputs: [], layers: [], outputs: [] };
  entries.forEach((entry, i) => {
    const where = `config.layers[${i}]`;
    if (isPlainObject(entry) && entry.class_name === 'InputLayer') {
      if (i !== 0) throw new RnnError('FORMAT', `${file}: expected an InputLayer only as the first entry of config.layers but ${where} is one`);
      description.inputs.push(readInputLayer(kerasObject(entry, where, file).config, where, file));
      return;
    }
    const layer = fromKerasLayer(entry, where, file, flavor);
    const previous = description.layers.length > 0 ? String(description.layers[description.layers.length - 1].layer.config.name) : description.inputs[0]?.name;
    if (description.inputs.length === 0) {
      // Keras 2 puts the input shape on the first layer (batch_input_shape, with the batch size of a stateful model);
      // a Keras 3 model built without an InputLayer has it in build_config.
      const own = layer.config.batchInputShape as number[] | undefined;
      const input = own ? { shape: own.slice(1), batch: own[0] }
        : layer.config.inputShape ? { shape: layer.config.inputShape as number[] }
          : isPlainObject(raw) && isPlainObject(raw.build_config) ? readBatchShape(raw.build_config.input_shape, 'build_config.input_shape', file) : undefined;
      if (!input) throw new RnnError('FORMAT', `${file}: expected an input shape (an InputLayer, a batch_input_shape on the first layer, or build_config) but the model has none`);
      description.inputs.push({ name: 'input_layer', ...input, dtype: layer.className === 'Embedding' ? 'int32' : 'float32' });
    }
    delete layer.config.inputShape;
    delete layer.config.batchInputShape;
    description.layers.push({ layer, where, inbound: [previous ?? description.inputs[0].name] });
  });
  if (description.layers.length === 0) throw new RnnError('FORMAT', `${file}: expected at least one layer after the InputLayer but config.layers has none`);
  checkMaskedSequences(entries, file);
  description.outputs.push(String(description.layers[description.layers.length - 1].layer.config.name));
  return description;
}

const RECURRENT = new Set(['SimpleRNN', 'LSTM', 'GRU']);

/**
 * At masked steps of a returned sequence rnnkit outputs zeros, as Keras does with `zero_output_for_mask: true`
 * (always inside Bidirectional); with false (a plain RNN's default) Keras repeats the last output instead. That
 * differs only where a mask reaches the layer and the masked steps reach the model's output, i.e. no recurrent layer
 * after it consumes the sequence (skipping those steps): that case is refused rather than computed differently.
 */
function checkMaskedSequences(entries: unknown[], file: string): void {
  let maskFrom: string | undefined;
  entries.forEach((entry, i) => {
    const { class_name: className, config } = entry as { class_name: string; config: Record<string, unknown> };
    if (className === 'Masking' || (className === 'Embedding' && config.mask_zero === true)) maskFrom = `config.layers[${i}] (${className})`;
    if (maskFrom === undefined || !RECURRENT.has(className) || config.return_sequences !== true || config.zero_output_for_mask === true) return;
    const consumed = entries.slice(i + 1).some((later) => RECURRENT.has((later as { class_name: string }).class_name) || (later as { class_name: string }).class_name === 'Bidirectional');
    if (!consumed) {
      throw new RnnError('FORMAT', `${file}: config.layers[${i}] (${className}) returns sequences under the mask of ${maskFrom} with zero_output_for_mask false, so Keras repeats the last output at masked steps where rnnkit writes zeros, and those steps reach the model's output; set zero_output_for_mask=True on the layer in Keras (rnnkit writes it so), or end the model with a layer that consumes the sequence`);
    }
  });
}

/** A Sequential model from a chain description (weights still initial). */
export function buildSequential(description: KerasModelDescription, file: string): Sequential {
  const [input] = description.inputs;
  // A fixed batch size (a stateful model: Keras's batch_shape [B, ...]) goes to the first layer as rnnkit's batchInputShape.
  const first = input.batch === undefined ? { inputShape: input.shape } : { batchInputShape: [input.batch, ...input.shape] };
  const layers = description.layers.map(({ layer, where }, i) => asFormatError(file, `${where} (${layer.className})`, () => layerFromConfig(layer, where, i === 0 ? first : {})));
  return asFormatError(file, 'model', () => new Sequential({ name: description.name, layers }));
}

/** The chain description of a Sequential model. */
export function describeSequential(model: Sequential): KerasModelDescription {
  const batch = model.layers[0].batchSize;
  const inputs = [{
    name: 'input_layer', shape: model.inputShape.slice(), dtype: model.layers[0].className === 'Embedding' ? 'int32' as const : 'float32' as const,
    ...(batch === undefined ? {} : { batch }),
  }];
  const layers = model.layers.map((layer, i) => {
    const serialized = serializeLayer(layer);
    const { inputShape: _dropped, batchInputShape: _batch, ...config } = serialized.config;
    return { layer: { className: serialized.className, config }, where: `config.layers[${i + 1}]`, inbound: [i === 0 ? inputs[0].name : model.layers[i - 1].name] };
  });
  return { name: model.name, inputs, layers, outputs: [model.layers[model.layers.length - 1].name] };
}

/**
 * Keras 3's `serialize_keras_object(model)` of a chain description: Sequential.get_config lists the InputLayer first
 * (keras/src/models/sequential.py); each built layer carries build_config with its batch input shape.
 */
export function toKeras3ModelConfig(description: KerasModelDescription, layerInputShapes: ReadonlyArray<readonly number[]>): Record<string, unknown> {
  const [input] = description.inputs;
  // Keras writes the batch size it was given (stateful models need one) and null otherwise; -1 is any length.
  const batch = input.batch ?? null;
  const batchShape = [batch, ...input.shape.map((d) => (d === -1 ? null : d))];
  const inputLayer = {
    module: 'keras.layers', class_name: 'InputLayer',
    config: { batch_shape: batchShape, dtype: input.dtype, sparse: false, name: input.name }, registered_name: null,
  };
  const layers = description.layers.map(({ layer }, i) => toKeras3Layer(layer, [batch, ...layerInputShapes[i].map((d) => (d === -1 ? null : d))]));
  return {
    module: 'keras', class_name: 'Sequential',
    config: {
      name: description.name, trainable: true,
      dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null },
      layers: [inputLayer, ...layers],
    },
    registered_name: null,
    build_config: { input_shape: batchShape },
  };
}
