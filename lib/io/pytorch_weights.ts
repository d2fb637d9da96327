/**
 * A PyTorch state dict (a parsed safetensors file) -> the weights of an rnnkit model's layers.
 *
 * Tensors group into modules by their name up to the last dot ('encoder.rnn.weight_ih_l0' -> module 'encoder.rnn').
 * A recurrent module's stacked layers `_l{k}` go to consecutive rnnkit layers that have weights (Dropout and
 * Masking between them are skipped, as PyTorch's inter-layer dropout has no weights); `_reverse` tensors to the
 * backward half of a bidirectional layer.
 *
 * Which module goes to which layer: `map` ('module prefix' -> 'layer name') first; the other modules then go onto
 * the remaining layers in model order, each layer taking the one module that fits it (kind and every shape). The
 * module order of the PyTorch model is not in the file (safetensors stores tensors in name order), so when two
 * modules fit one layer the load is refused as ambiguous and `map` must say which, instead of guessing.
 *
 * All or nothing: every tensor must be used, and (without `map`) every layer with weights must receive some;
 * nothing is written until the whole plan holds, and then through the model's checked setWeights.
 */
import { RnnError } from '../errors';
import type { Layer } from '../layers/layer';
import { Tensor } from '../tensor';
import { describeValue, isPlainObject } from '../validate';
import { buildWeights, LayerPlan, moduleLabel, planLayer, TorchModule } from './pytorch_layers';
import type { LoadWeightsReport, WeightsTarget } from './load_weights';
import { decodeTensor, SafetensorsEntry, SafetensorsFile } from './safetensors';

const RECURRENT_PARAM = /^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$/;

/** Loads the state dict in `file` into `target`; `map` names module -> layer (undefined: match by fit). */
export function loadPytorchWeights(target: WeightsTarget, file: SafetensorsFile, fileName: string, map: Record<string, string> | undefined): LoadWeightsReport {
  const modules = groupModules(file, fileName);
  const slots = target.layers.filter((layer) => target.layerWeights(layer).length > 0);
  const shapes = new Map(slots.map((layer) => [layer, target.layerWeights(layer).map((w) => w.shape)]));
  const assigned = new Map<number, LayerPlan>();
  const used = new Set<TorchModule>();
  const assign = (module: TorchModule, start: number, plans: LayerPlan[]) => {
    plans.forEach((plan, k) => assigned.set(start + k, plan));
    used.add(module);
  };
  // The run of layers a module fills: its stacked layers onto consecutive layers with weights, all still free.
  const planRun = (module: TorchModule, start: number): LayerPlan[] => {
    const count = module.recurrent?.layers ?? 1;
    const plans: LayerPlan[] = [];
    for (let k = 0; k < count; k++) {
      const layer = slots[start + k];
      if (!layer || assigned.has(start + k)) {
        throw new RnnError('SHAPE', `Expected ${count} free consecutive layers with weights from layer '${slots[start].name}' for the ${count} stacked layers of ${moduleLabel(module)} but layer ${k} (_l${k}) has ${layer ? `'${layer.name}', which already receives other tensors` : 'none left in the model'}`);
      }
      plans.push(planLayer(module, k, layer, shapes.get(layer)!));
    }
    return plans;
  };

  for (const [prefix, layerName] of Object.entries(map ?? {})) {
    const module = modules.find((m) => m.prefix === prefix);
    if (!module) throw new RnnError('ARGUMENT', `Expected map key '${prefix}' to name a module of ${fileName} (${modules.map((m) => `'${m.prefix}'`).join(', ')}) but it has none by that name`);
    const start = slots.findIndex((layer) => layer.name === layerName);
    if (start < 0) throw new RnnError('ARGUMENT', `Expected map['${prefix}'] to name a layer with weights of model '${target.name}' (${slots.map((l) => `'${l.name}'`).join(', ')}) but received ${describeValue(layerName)}`);
    assign(module, start, planRun(module, start));
  }
  for (let slot = 0; slot < slots.length; slot++) {
    if (assigned.has(slot)) continue;
    const fits: Array<[TorchModule, LayerPlan[]]> = [];
    for (const module of modules) {
      if (used.has(module)) continue;
      try {
        fits.push([module, planRun(module, slot)]);
      } catch (error) {
        if (!(error instanceof RnnError)) throw error;
      }
    }
    if (fits.length > 1) {
      throw new RnnError('ARGUMENT', `Expected one module of ${fileName} to fit layer '${slots[slot].name}' but ${fits.map(([m]) => `'${m.prefix}'`).join(' and ')} all do; name the layer of each in map (e.g. { '${fits[0][0].prefix}': '${slots[slot].name}' })`);
    }
    if (fits.length === 1) assign(fits[0][0], slot, fits[0][1]);
  }
  checkEverythingUsed(modules, used, slots, assigned, planRun, map === undefined);

  const decode = (entry: SafetensorsEntry) => decodeTensor(file, entry, fileName);
  const replacement = new Map<Layer, Tensor[]>();
  for (const plan of assigned.values()) replacement.set(plan.layer, buildWeights(plan, decode));
  target.writeAll(target.layers.flatMap((layer) => replacement.get(layer) ?? target.layerWeights(layer)));
  return {
    loaded: [...assigned.entries()].sort(([a], [b]) => a - b).map(([, plan]) => ({
      layer: plan.layer.name, tensors: [...new Set(plan.weights.flatMap((w) => w.parts.flat().map((s) => s.entry.name)))],
    })),
    unchanged: slots.filter((_, slot) => !assigned.has(slot)).map((layer) => layer.name),
  };
}

/**
 * A module no layer took is an error that says why: the reason it does not fit the first free layer of its kind
 * (that layer's own shape error), or that no such layer is left. Without map, a layer left out is an error too.
 */
function checkEverythingUsed(modules: TorchModule[], used: Set<TorchModule>, slots: Layer[], assigned: Map<number, LayerPlan>,
  planRun: (module: TorchModule, start: number) => LayerPlan[], requireAllLayers: boolean): void {
  for (const module of modules) {
    if (used.has(module)) continue;
    const names = [...module.params.values()].map((e) => `'${e.name}'`).join(', ');
    const free = slots.map((_, slot) => slot).filter((slot) => !assigned.has(slot));
    const sameKind = free.find((slot) => isRecurrentLayer(slots[slot]) === (module.recurrent !== undefined));
    if (sameKind !== undefined) {
      try {
        planRun(module, sameKind);
      } catch (error) {
        if (error instanceof RnnError) throw new RnnError(error.code, `${error.message} (no layer takes ${moduleLabel(module)}: ${names})`);
        throw error;
      }
    }
    throw new RnnError('SHAPE', `Expected every tensor of the file to go to a layer but no layer is left for ${moduleLabel(module)} (${names}); free layers: ${free.length ? free.map((s) => `'${slots[s].name}'`).join(', ') : 'none'}`);
  }
  const left = slots.filter((_, slot) => !assigned.has(slot));
  if (requireAllLayers && left.length > 0) {
    throw new RnnError('SHAPE', `Expected the file to have weights for every layer with weights but ${left.map((l) => `'${l.name}'`).join(', ')} received none (to load only some layers, name them in map)`);
  }
}

function isRecurrentLayer(layer: Layer): boolean {
  return ['SimpleRNN', 'LSTM', 'GRU', 'Bidirectional'].includes(layer.className);
}

/** The file's tensors grouped into modules, in the order of their first tensor in the header. */
function groupModules(file: SafetensorsFile, fileName: string): TorchModule[] {
  const groups = new Map<string, Map<string, SafetensorsEntry>>();
  for (const entry of file.tensors) {
    const dot = entry.name.lastIndexOf('.');
    const prefix = dot < 0 ? '' : entry.name.slice(0, dot);
    if (!groups.has(prefix)) groups.set(prefix, new Map());
    groups.get(prefix)!.set(entry.name.slice(dot + 1), entry);
  }
  return [...groups.entries()].map(([prefix, params]) => describeModule(prefix, params, file, fileName));
}

/** Recognises nn.RNN / nn.LSTM / nn.GRU tensors and checks their set is complete; other modules stay as tensors. */
function describeModule(prefix: string, params: Map<string, SafetensorsEntry>, file: SafetensorsFile, fileName: string): TorchModule {
  const recurrentNames = [...params.keys()].filter((name) => RECURRENT_PARAM.test(name));
  if (recurrentNames.length === 0) return { prefix, params };
  const label = prefix === '' ? 'the top-level module' : `module '${prefix}'`;
  const other = [...params.keys()].find((name) => !RECURRENT_PARAM.test(name));
  if (other !== undefined) {
    throw new RnnError('FORMAT', `${fileName}: expected only nn.RNN/nn.LSTM/nn.GRU tensors in ${label} (it has ${recurrentNames[0]}) but it also has '${other}'`);
  }
  const projection = recurrentNames.find((name) => name.startsWith('weight_hr'));
  if (projection !== undefined) {
    throw new RnnError('ARGUMENT', `${fileName}: ${label} is an nn.LSTM with proj_size != 0 (it has '${projection}'); rnnkit's LSTM has no output projection, so it cannot be loaded`);
  }
  const layers = 1 + Math.max(...recurrentNames.map((name) => Number(RECURRENT_PARAM.exec(name)![2])));
  const bidirectional = recurrentNames.some((name) => name.endsWith('_reverse'));
  for (let k = 0; k < layers; k++) {
    for (const suffix of bidirectional ? ['', '_reverse'] : ['']) {
      for (const param of ['weight_ih', 'weight_hh']) {
        if (!params.has(`${param}_l${k}${suffix}`)) {
          throw new RnnError('FORMAT', `${fileName}: expected tensor '${prefix ? `${prefix}.` : ''}${param}_l${k}${suffix}' in ${label}, which has ${layers} stacked layer(s)${bidirectional ? ' in both directions' : ''}, but the file has none`);
        }
      }
      if (params.has(`bias_ih_l${k}${suffix}`) !== params.has(`bias_hh_l${k}${suffix}`)) {
        throw new RnnError('FORMAT', `${fileName}: expected both bias_ih_l${k}${suffix} and bias_hh_l${k}${suffix} in ${label} or neither, but only one is there`);
      }
    }
  }
  const nonlinearity = file.metadata.get(prefix === '' ? 'nonlinearity' : `${prefix}.nonlinearity`);
  return { prefix, params, recurrent: { layers, bidirectional }, nonlinearity };
}

/** Checks `map` of loadWeights: a plain object of strings. */
export function checkWeightsMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new RnnError('ARGUMENT', `Expected an object { 'module prefix': 'layer name' } for map but received ${describeValue(value)}`);
  for (const [key, name] of Object.entries(value)) {
    if (typeof name !== 'string') throw new RnnError('ARGUMENT', `Expected a layer name (string) for map['${key}'] but received ${describeValue(name)}`);
  }
  return value as Record<string, string>;
}
