/**
 * A model's weights: the native network, which native parameters belong to which layer, and the moves of a shared
 * layer's weights between models. A layer's weights live in the model that last ran it (`layer.host`); another
 * model using the layer copies them in before it runs (claim), so every model sees the latest values. A disposed
 * model leaves the weights of its layers in JS (detached) for the other models that use them.
 */
import { RnnError } from '../errors';
import type { Layer, LayerHost } from '../layers/layer';
import type { NativeNetwork, NativeParamInfo } from '../native';
import { Tensor } from '../tensor';
import type { BuiltNetwork } from './build_network';
import type { Topology } from './topology';
import { checkLayerWeights } from './weight_checks';

const detached = new WeakMap<Layer, Float32Array[]>();
/** How many models not disposed hold each layer (a model collected without dispose() still counts: harmless). */
const liveUsers = new WeakMap<Layer, number>();

/** The layer's current values wherever they are: its live host, or what a disposed host left; else none. */
function currentValues(layer: Layer): Float32Array[] | undefined {
  if (layer.host && !layer.host.isDisposed) return layer.host.getLayerWeights(layer).map((t) => Float32Array.from(t.data));
  return detached.get(layer);
}

export class ModelWeights {
  network?: NativeNetwork;
  infos: NativeParamInfo[] = [];
  private paramIndices = new Map<Layer, number[]>();
  private layers: readonly Layer[] = [];

  constructor(private readonly owner: LayerHost & { readonly name: string }) {}

  /** The current values of every layer of `topology` that has weights anywhere, checked against its new use. */
  collect(topology: Topology): Map<Layer, Float32Array[]> {
    const values = new Map<Layer, Float32Array[]>();
    for (const layer of topology.layers) {
      let current: Float32Array[] | undefined;
      if (layer.host === this.owner && this.network && this.paramIndices.has(layer)) {
        current = this.paramIndices.get(layer)!.map((i) => this.network!.getParam(i));
      } else {
        current = currentValues(layer);
      }
      if (current === undefined) continue;
      const specs = layer.weightSpecs(topology.firstUse.get(layer)!.inputs[0].sampleShape);
      specs.forEach((spec, k) => {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        if (current![k]?.length !== size) {
          throw new RnnError('SHAPE', `Expected layer '${layer.name}' to be used with the input shape it has weights for, but weight '${spec.name}' would need shape [${spec.shape.join(', ')}] (${size} values) and has ${current![k]?.length ?? 0}`);
        }
      });
      values.set(layer, current);
    }
    return values;
  }

  /** Takes over a newly built network (frees the previous one) and becomes the host of every layer in it. */
  replace(built: BuiltNetwork | undefined, topology?: Topology): void {
    this.network?.dispose();
    for (const layer of topology?.layers ?? []) if (!this.layers.includes(layer)) liveUsers.set(layer, (liveUsers.get(layer) ?? 0) + 1);
    this.network = built?.network;
    this.paramIndices = built?.paramIndices ?? new Map();
    this.infos = built ? built.network.params() : [];
    this.layers = topology?.layers ?? [];
    for (const layer of this.layers) layer.host = this.owner;
  }

  /** Copies in the weights of layers another model ran since (or a disposed model left), and hosts them again. */
  claim(): void {
    for (const layer of this.layers) {
      if (layer.host === this.owner) continue;
      const values = currentValues(layer);
      if (values) this.indicesOf(layer).forEach((index, k) => this.network!.setParam(index, values[k]));
      layer.host = this.owner;
    }
  }

  /** Frees the network; the layers it hosts that other models hold keep their values in JS for them. */
  detachAll(): void {
    if (this.network && !this.network.isDisposed()) {
      for (const layer of this.layers) {
        const others = (liveUsers.get(layer) ?? 1) - 1;
        liveUsers.set(layer, others);
        if (layer.host !== this.owner || others === 0) continue;
        detached.set(layer, this.indicesOf(layer).map((i) => this.network!.getParam(i)));
        layer.host = undefined;
      }
    }
    this.network?.dispose();
  }

  indicesOf(layer: Layer): readonly number[] {
    return this.paramIndices.get(layer) ?? [];
  }

  /** Native indices of every weight in getWeights order. */
  order(): number[] {
    return this.layers.flatMap((layer) => this.indicesOf(layer));
  }

  readLayer(layer: Layer): Tensor[] {
    return this.indicesOf(layer).map((i) => new Tensor(this.network!.getParam(i), this.infos[i].shape));
  }

  readAll(): Tensor[] {
    return this.layers.flatMap((layer) => this.readLayer(layer));
  }

  writeLayer(layer: Layer, weights: Tensor[]): void {
    this.check(layer, weights);
    this.write(layer, weights);
  }

  writeAll(weights: Tensor[]): void {
    const expected = this.order().length;
    if (!Array.isArray(weights) || weights.length !== expected) {
      throw new RnnError('SHAPE', `Expected ${expected} weight tensors for model '${this.owner.name}' but received ${Array.isArray(weights) ? weights.length : typeof weights}`);
    }
    let offset = 0;
    const plan: Array<[Layer, Tensor[]]> = this.layers.map((layer) => {
      const count = this.indicesOf(layer).length;
      offset += count;
      return [layer, weights.slice(offset - count, offset)];
    });
    for (const [layer, part] of plan) this.check(layer, part);
    for (const [layer, part] of plan) this.write(layer, part);
  }

  private check(layer: Layer, weights: Tensor[]): void {
    checkLayerWeights(layer.name, this.indicesOf(layer).map((index) => this.infos[index]), weights);
  }

  private write(layer: Layer, weights: Tensor[]): void {
    this.indicesOf(layer).forEach((index, k) => this.network!.setParam(index, Float32Array.from(weights[k].dataSync())));
  }
}
