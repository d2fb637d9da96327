/**
 * rnnkit's own model file: what the JSON header of the container (binary_format.ts) holds, how a model becomes one
 * and how one becomes a model again. Header:
 *
 *   { format: 'rnnkit-model', generatedBy, dataBytes,
 *     model: { className: 'Sequential', name, layers: [{ className, config }] }
 *         or { className: 'Model', name, inputs, layers, nodes, outputs }              // lib/models/model_config.ts
 *     weights: [{ layer, name, shape, dtype: 'float32', offset, length }],      // getWeights order
 *     training?: { loss, metrics, huberDelta, optimizer: { kind, learningRate, ... } },   // when compiled
 *     optimizerState?: { step, slots: [{ shape, dtype, offset, length }] } }            // includeOptimizer
 *
 * A graph ('Model') stores one loss, metrics list and loss weight per output in training: `loss: [...]`,
 * `metrics: [[...]]`, `lossWeights: [...]` in output order. Graphs came without a version bump: the container
 * (version 1) is unchanged and the model section says what it holds, so every file written before still loads.
 *
 * Offsets are relative to the tensor data section. Reading validates the whole header against the layers the
 * configs rebuild (weight count, names and shapes) before the native network is created, so a forged header can
 * neither crash the addon nor make it allocate more than the file holds.
 */
import { RnnError } from '../errors';
import type { Model } from '../models/model';
import { blueprintFromConfig, LayerPlan, modelConfig, planOf } from '../models/model_config';
import { Optimizer, OPTIMIZER_NAMES, OptimizerName } from '../optimizers';
import { Tensor } from '../tensor';
import { checkLoss, checkMetrics } from '../training/losses';
import { decodeContainer, encodeContainer } from './binary_format';
import {
  checkKeys, checkNoOverlap, copyFloat32, float32Bytes, formatError, readTensorEntry, requireArray, requireInteger, requireObject,
  requireString, TensorEntry,
} from './validation';
import { asFormatError, packageVersion } from './model_plan';

const FORMAT_NAME = 'rnnkit-model';

/** A model as the chunks of one file. All values are copied first, so the model may change while they are written. */
export function encodeModelFile(model: Model, includeOptimizer: boolean): Uint8Array[] {
  const topology = model.topology;
  if (!topology) throw new RnnError('STATE', `Model '${model.name}' has no layers yet; there is nothing to save`);
  const compiled = model.compiledSettings;
  if (includeOptimizer && !compiled) {
    throw new RnnError('STATE', `Expected a compiled model for includeOptimizer but model '${model.name}' is not compiled`);
  }
  const data: Uint8Array[] = [];
  let offset = 0;
  const addTensor = (values: Float32Array, shape: readonly number[]) => {
    const record = { shape: shape.slice(), dtype: 'float32', offset, length: values.byteLength };
    data.push(float32Bytes(values));
    offset += values.byteLength;
    return record;
  };

  const weights = model.readAllWeights();
  const weightRecords: Array<Record<string, unknown>> = [];
  let next = 0;
  planOf(topology).forEach(({ layer, specs }, index) => {
    for (const spec of specs) {
      const tensor = weights[next++];
      checkFinite(tensor.data, `weight '${spec.name}' of layer '${layer.name}'`);
      weightRecords.push({ layer: index, name: spec.name, ...addTensor(tensor.data, tensor.shape) });
    }
  });

  const header: Record<string, unknown> = {
    format: FORMAT_NAME,
    generatedBy: `rnnkit ${packageVersion()}`,
    model: modelConfig(model),
    weights: weightRecords,
  };
  if (compiled && (header.model as { className: string }).className === 'Sequential') {
    header.training = {
      loss: compiled.loss, metrics: compiled.metrics.slice(), huberDelta: compiled.huberDelta,
      optimizer: compiled.optimizer.getConfig(),
    };
  } else if (compiled) {
    header.training = {
      loss: compiled.outputs.map((o) => o.loss), metrics: compiled.outputs.map((o) => o.metrics.slice()),
      lossWeights: compiled.outputs.map((o) => o.weight), huberDelta: compiled.huberDelta, optimizer: compiled.optimizer.getConfig(),
    };
  }
  if (includeOptimizer) {
    const state = model.requireNetwork().getOptimizerState();
    header.optimizerState = { step: state.step, slots: state.slots.map((slot) => addTensor(slot, [slot.length])) };
  }
  header.dataBytes = offset;
  return encodeContainer(header, data);
}

function checkFinite(values: Float32Array, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RnnError('NOT_FINITE', `Expected finite values in ${name} but received ${values[i]} at ${i}; the training diverged (see rk.callbacks.terminateOnNaN)`);
    }
  }
}

/** The model stored in `bytes` (an rnnkit model file named `file` in messages), compiled if it was when saved. */
export function decodeModelFile(bytes: Uint8Array, file: string): Model {
  const { header: rawHeader, data } = decodeContainer(bytes, file);
  const header = requireObject(rawHeader, file, 'the header');
  checkKeys(header, ['format', 'generatedBy', 'dataBytes', 'model', 'weights', 'training', 'optimizerState'], file, 'the header');
  if (header.format !== FORMAT_NAME) throw formatError(file, `format '${FORMAT_NAME}'`, 'header.format', header.format);
  if (header.dataBytes !== data.length) {
    throw new RnnError('FORMAT', `${file}: expected ${describeCount(header.dataBytes)} bytes of tensor data but the file holds ${data.length}; it is truncated or has trailing bytes`);
  }
  const modelSection = requireObject(header.model, file, 'header.model');
  const graph = modelSection.className === 'Model';
  checkKeys(modelSection, graph ? ['className', 'name', 'inputs', 'layers', 'nodes', 'outputs'] : ['className', 'name', 'layers'], file, 'header.model');
  if (!graph && modelSection.className !== 'Sequential') throw formatError(file, "className 'Sequential' or 'Model'", 'header.model.className', modelSection.className);
  requireString(modelSection.name, file, 'header.model.name');
  const blueprint = asFormatError(file, 'header.model', () => blueprintFromConfig(modelSection, 'header.model'));
  const plan = blueprint.plan;

  const weightEntries = readWeightTable(header.weights, plan, file, data.length);
  const training = header.training === undefined ? undefined : readTraining(header.training, file, graph);
  const state = header.optimizerState === undefined ? undefined : readOptimizerState(header.optimizerState, file, data.length);
  if (state && !training) throw new RnnError('FORMAT', `${file}: expected header.training alongside header.optimizerState but it is missing`);
  checkNoOverlap([...weightEntries, ...(state?.slots ?? [])], file);

  const weights = weightEntries.map((entry) => {
    const values = copyFloat32(data, entry);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw formatError(file, 'finite values', entry.name, values[i]);
    }
    return new Tensor(values, entry.shape);
  });
  const model = asFormatError(file, 'the model', () => blueprint.build());
  model.writeAllWeights(weights);
  if (training) {
    model.compile(training);
    if (state) restoreOptimizerState(model, state, data, file);
  }
  return model;
}

function describeCount(value: unknown): string {
  return typeof value === 'number' ? String(value) : `(header.dataBytes = ${JSON.stringify(value)})`;
}

/** The weight table, checked entry by entry against what the rebuilt layers declare, in getWeights order. */
function readWeightTable(raw: unknown, plan: readonly LayerPlan[], file: string, dataBytes: number): TensorEntry[] {
  const table = requireArray(raw, file, 'header.weights');
  const expected = plan.flatMap(({ layer, specs }, index) => specs.map((spec) => ({ layer, index, spec })));
  if (table.length !== expected.length) {
    throw new RnnError('FORMAT', `${file}: expected ${expected.length} weight tensors for the layers (${plan.map((p) => `'${p.layer.name}': ${p.specs.length}`).join(', ')}) but header.weights has ${table.length}`);
  }
  return table.map((rawEntry, j) => {
    const { layer, index, spec } = expected[j];
    const label = `weight '${spec.name}' of layer '${layer.name}' (header.weights[${j}])`;
    const entry = requireObject(rawEntry, file, `header.weights[${j}]`);
    checkKeys(entry, ['layer', 'name', 'shape', 'dtype', 'offset', 'length'], file, `header.weights[${j}]`);
    if (entry.layer !== index || entry.name !== spec.name) {
      throw formatError(file, `layer ${index} and name '${spec.name}'`, `header.weights[${j}]`, `layer ${String(entry.layer)}, name ${JSON.stringify(entry.name)}`);
    }
    const tensor = readTensorEntry(entry, file, label, dataBytes);
    if (tensor.shape.join() !== spec.shape.join()) {
      throw formatError(file, `shape [${spec.shape.join(', ')}]`, label, `[${tensor.shape.join(', ')}]`);
    }
    return tensor;
  });
}

interface TrainingSettings {
  loss: ReturnType<typeof checkLoss> | Array<ReturnType<typeof checkLoss>>;
  metrics: ReturnType<typeof checkMetrics> | Array<ReturnType<typeof checkMetrics>>;
  lossWeights?: number[];
  huberDelta: number;
  optimizer: Optimizer;
}

/** The compile settings; a graph's loss, metrics and lossWeights are arrays in output order (checked by compile too). */
function readTraining(raw: unknown, file: string, graph: boolean): TrainingSettings {
  const training = requireObject(raw, file, 'header.training');
  checkKeys(training, graph ? ['loss', 'metrics', 'lossWeights', 'huberDelta', 'optimizer'] : ['loss', 'metrics', 'huberDelta', 'optimizer'], file, 'header.training');
  return asFormatError(file, 'header.training', () => {
    let loss: TrainingSettings['loss'];
    let metrics: TrainingSettings['metrics'];
    let lossWeights: number[] | undefined;
    if (graph) {
      const losses = requireArray(training.loss, file, 'header.training.loss');
      const metricLists = requireArray(training.metrics, file, 'header.training.metrics');
      lossWeights = requireArray(training.lossWeights, file, 'header.training.lossWeights').map((w, i) => {
        if (typeof w !== 'number' || !(w >= 0)) throw formatError(file, 'a number >= 0', `header.training.lossWeights[${i}]`, w);
        return w;
      });
      if (metricLists.length !== losses.length || lossWeights.length !== losses.length) {
        throw formatError(file, `${losses.length} metric lists and loss weights (one per loss)`, 'header.training', `${metricLists.length} and ${lossWeights.length}`);
      }
      loss = losses.map((l) => checkLoss(l));
      metrics = metricLists.map((m, i) => checkMetrics(m, (loss as Array<ReturnType<typeof checkLoss>>)[i]));
    } else {
      loss = checkLoss(training.loss);
      metrics = checkMetrics(training.metrics, loss);
    }
    const huberDelta = training.huberDelta;
    if (typeof huberDelta !== 'number' || !(huberDelta > 0)) throw formatError(file, 'a number > 0', 'huberDelta', huberDelta);
    const { kind, ...settings } = requireObject(training.optimizer, file, 'header.training.optimizer');
    if (typeof kind !== 'string' || !(OPTIMIZER_NAMES as readonly string[]).includes(kind)) {
      throw formatError(file, `an optimizer kind among ${OPTIMIZER_NAMES.join(', ')}`, 'header.training.optimizer.kind', kind);
    }
    return { loss, metrics, ...(lossWeights ? { lossWeights } : {}), huberDelta, optimizer: new Optimizer(kind as OptimizerName, settings) };
  });
}

function readOptimizerState(raw: unknown, file: string, dataBytes: number): { step: number; slots: TensorEntry[] } {
  const state = requireObject(raw, file, 'header.optimizerState');
  checkKeys(state, ['step', 'slots'], file, 'header.optimizerState');
  const step = requireInteger(state.step, file, 'header.optimizerState.step');
  const slots = requireArray(state.slots, file, 'header.optimizerState.slots').map((slot, i) => {
    checkKeys(requireObject(slot, file, `optimizer slot ${i}`), ['shape', 'dtype', 'offset', 'length'], file, `optimizer slot ${i}`);
    const entry = readTensorEntry(slot, file, `optimizer slot ${i}`, dataBytes);
    if (entry.shape.length !== 1) throw formatError(file, 'a shape of rank 1', `optimizer slot ${i}`, `[${entry.shape.join(', ')}]`);
    return entry;
  });
  return { step, slots };
}

/** Checks the slot sizes against what the freshly compiled optimizer holds, then installs the saved state. */
function restoreOptimizerState(model: Model, state: { step: number; slots: TensorEntry[] }, data: Uint8Array, file: string): void {
  const network = model.requireNetwork();
  const fresh = network.getOptimizerState();
  if (fresh.slots.length !== state.slots.length) {
    throw new RnnError('FORMAT', `${file}: expected ${fresh.slots.length} optimizer slots for ${model.optimizer.kind} but header.optimizerState has ${state.slots.length}`);
  }
  fresh.slots.forEach((slot, i) => {
    if (slot.length !== state.slots[i].shape[0]) throw formatError(file, `${slot.length} values`, `optimizer slot ${i}`, state.slots[i].shape[0]);
  });
  network.setOptimizerState({ step: state.step, slots: state.slots.map((entry) => copyFloat32(data, entry)) });
}
