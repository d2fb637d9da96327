/**
 * rk.transfer between graphs: layers are matched by name (positions mean nothing in a graph). The new model is
 * rebuilt through the one model factory (lib/models/model_config.ts) from the target's config, or from the source's
 * config with its output layer replaced by a new Dense head, and the mapped layers receive copies of the source's
 * weights (adapted by inputAdapter like a sequential transfer). The source is never modified and shares nothing with
 * the result. Typical use: carry a trained functional encoder into a new rk.model with a different head.
 */
import { RnnError } from '../errors';
import { checkActivation } from '../layers/layer';
import type { Layer } from '../layers/layer';
import { Model } from '../models/model';
import { blueprintFromConfig, GraphConfig, modelConfig, planOf } from '../models/model_config';
import { Sequential } from '../models/sequential';
import { Tensor } from '../tensor';
import { checkInteger, checkKnownKeys, invalid, isPlainObject, optionsOrEmpty } from '../validate';
import { TransferReport, WeightTransfer } from './report';
import { carryWeight, InputAdapter, TransferHead } from './transfer';

/** What transferGraph needs of the checked transfer options. */
export interface GraphTransferArgs {
  head: TransferHead | Model;
  map?: unknown;
  freeze?: unknown;
  adapter?: InputAdapter;
  name?: string;
}

const names = (layers: readonly Layer[]) => layers.map((l) => `'${l.name}'`).join(', ');

/** The target config: the head model's, or the source's with its one output layer replaced by a Dense head. */
function targetConfig(source: Model, head: TransferHead | Model): { config: GraphConfig; headLayer?: string; replaced?: string } {
  if (isModel(head)) {
    if (!head.topology) throw new RnnError('ARGUMENT', `Expected a target model with layers for head but '${head.name}' has none`);
    return { config: asGraph(head) };
  }
  const spec = optionsOrEmpty(head, 'head');
  checkKnownKeys(spec, ['units', 'activation', 'name'], 'head (a head spec { units, activation, name })');
  const units = checkInteger(spec.units, 'head.units', { min: 1 });
  const activation = checkActivation(spec.activation ?? 'softmax', 'head.activation');
  const config = asGraph(source);
  if (config.outputs.length !== 1) {
    throw new RnnError('ARGUMENT', `Expected a source with one output for a head spec (it replaces the output layer) but model '${source.name}' has ${config.outputs.length} outputs (${source.outputNames.map((n) => `'${n}'`).join(', ')}); pass a target model as head instead`);
  }
  const node = config.nodes[config.outputs[0][0]];
  const replaced = String(config.layers[node.layer].config.name);
  if (config.nodes.filter((n) => n.layer === node.layer).length > 1 || config.outputs[0][1] !== 0) {
    throw new RnnError('ARGUMENT', `Expected the output layer '${replaced}' of model '${source.name}' to be used once, with one output, to replace it by a head spec; pass a target model as head instead`);
  }
  let name = spec.name;
  for (let k = 0; name === undefined || (name !== replaced && config.layers.some((l) => l.config.name === name)); k++) name = k === 0 ? 'head' : `head_${k}`;
  config.layers[node.layer] = { className: 'Dense', config: { units, activation, name } };
  return { config, headLayer: name, replaced };
}

function isModel(value: unknown): value is Model {
  return value instanceof Model;
}

/** A model's config in graph form (a Sequential's chain written as a graph). */
function asGraph(model: Model): GraphConfig {
  const config = modelConfig(model);
  if (config.className === 'Model') return config;
  const topology = model.topology!;
  return {
    className: 'Model', name: model.name,
    inputs: [{ name: topology.inputs[0].name, shape: topology.inputs[0].sampleShape.map((d) => (d === -1 ? null : d)), dtype: 'float32' }],
    layers: config.layers.map((l, i) => (i === 0 ? { className: l.className, config: { ...l.config, inputShape: undefined } } : l)),
    nodes: config.layers.map((_, i) => ({ layer: i, inputs: [i === 0 ? [-1, 0] : [i - 1, 0]], initialStates: 0 })),
    outputs: [[config.layers.length - 1, 0]],
  };
}

/** Target layer name -> source layer: by `map` ({ source: target } or [names]), else every same-named layer of one class. */
function pairs(source: Model, target: readonly Layer[], map: unknown, replaced: string | undefined): Map<string, Layer> {
  const byName = new Map(source.layers.map((l) => [l.name, l]));
  const targetNames = new Set(target.map((l) => l.name));
  const result = new Map<string, Layer>();
  const add = (from: string, to: string, what: string) => {
    const layer = byName.get(from);
    if (!layer) throw invalid('ARGUMENT', `a layer of the source model (${names(source.layers)})`, what, from);
    if (from === replaced) throw new RnnError('ARGUMENT', `Expected a source layer other than the replaced head '${from}' for ${what}`);
    if (!targetNames.has(to)) throw invalid('ARGUMENT', `a layer of the new model (${names(target)})`, what, to);
    if (result.has(to)) throw new RnnError('ARGUMENT', `Expected each layer of the new model to receive weights from one source layer but map sends two to '${to}'`);
    result.set(to, layer);
  };
  if (map === undefined) {
    for (const layer of target) {
      const from = byName.get(layer.name);
      if (from && from.name !== replaced && from.className === layer.className) result.set(layer.name, from);
    }
  } else if (Array.isArray(map)) {
    map.forEach((ref, i) => {
      if (typeof ref !== 'string') throw invalid('ARGUMENT', 'a layer name (a graph maps layers by name, not position)', `map[${i}]`, ref);
      add(ref, ref, `map[${i}]`);
    });
  } else if (isPlainObject(map)) {
    for (const [from, to] of Object.entries(map)) add(from, String(to), `map['${from}']`);
  } else {
    throw invalid('ARGUMENT', 'an object { sourceLayer: newLayer } or an array of layer names', 'map', map);
  }
  for (const [to, from] of result) {
    const layer = target.find((l) => l.name === to)!;
    if (layer.className !== from.className) {
      throw new RnnError('ARGUMENT', `Expected map to pair layers of the same class but source '${from.name}' is ${from.className} and target '${to}' is ${layer.className}`);
    }
  }
  return result;
}

/** The transfer of a graph source (or to a graph target). */
export function transferGraph(source: Model, args: GraphTransferArgs): { model: Model; report: TransferReport } {
  const { config, replaced } = targetConfig(source, args.head);
  config.name = args.name ?? `${source.name}_transfer`;
  const blueprint = blueprintFromConfig(config, 'the new model');
  const sourcePlan = new Map(planOf(source.topology!).map((p) => [p.layer, p]));
  const mapped = pairs(source, blueprint.plan.map((p) => p.layer), args.map, replaced);
  const frozen = frozenNames(args.freeze, blueprint.plan.map((p) => p.layer), mapped);
  for (const { layer } of blueprint.plan) if (frozen.has(layer.name)) layer.trainable = false;
  const model = blueprint.build();

  const entries: WeightTransfer[] = [];
  for (const { layer, specs } of planOf(model.topology!)) {
    if (specs.length === 0) continue;
    const current = layer.getWeights();
    const from = mapped.get(layer.name);
    if (!from) {
      const reason = layer.name === (isModel(args.head) ? undefined : model.outputs[0].node!.layer.name) ? `new head (replaces '${replaced}')` : 'not mapped: fresh initial weights';
      specs.forEach((spec, k) => entries.push({ layer: layer.name, weight: spec.name, action: 'reinitialised', shape: current[k].shape.slice(), reason }));
      continue;
    }
    const fromSpecs = sourcePlan.get(from)!.specs;
    if (fromSpecs.length !== specs.length || fromSpecs.some((s, k) => s.name !== specs[k].name)) {
      throw new RnnError('SHAPE', `Expected layer '${layer.name}' to have the weights of source layer '${from.name}' (${fromSpecs.map((s) => s.name).join(', ')}) but it has (${specs.map((s) => s.name).join(', ')})`);
    }
    const source = from.getWeights();
    const values = specs.map((spec, k) => {
      const carried = carryWeight(layer.name, spec.name, source[k], current[k], args.adapter);
      entries.push({
        layer: layer.name, weight: spec.name, action: carried.action, shape: current[k].shape.slice(),
        sourceLayer: from.name, sourceShape: source[k].shape.slice(), reason: carried.reason + (frozen.has(layer.name) && carried.action !== 'copied' ? '; frozen, so the initialised values never train' : ''),
      });
      return new Tensor(carried.values ?? current[k].data.slice(), current[k].shape);
    });
    layer.setWeights(values);
  }
  return { model, report: new TransferReport(entries, [...frozen]) };
}

function frozenNames(freeze: unknown, layers: readonly Layer[], mapped: ReadonlyMap<string, Layer>): Set<string> {
  if (freeze === undefined || freeze === false) return new Set();
  if (freeze === true) return new Set([...mapped.keys()]);
  if (!Array.isArray(freeze)) throw invalid('ARGUMENT', 'true, false or a list of layer names', 'freeze', freeze);
  freeze.forEach((name, i) => {
    if (typeof name !== 'string' || !layers.some((l) => l.name === name)) throw invalid('ARGUMENT', `a layer name of the new model (${names(layers)})`, `freeze[${i}]`, name);
  });
  return new Set(freeze as string[]);
}

/** True when transfer must work on graphs: a functional source or a functional target. */
export function needsGraphTransfer(source: unknown, head: unknown): boolean {
  const graph = (m: unknown) => isModel(m) && !(m instanceof Sequential);
  return graph(source) || graph(head);
}
