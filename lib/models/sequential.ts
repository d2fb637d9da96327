/**
 * A linear stack of layers, tfjs/Keras style: a Model whose graph is the chain input -> layer 0 -> layer 1 -> ... .
 * add() rebuilds the chain and the native network, keeping the weights of the layers it already had; everything
 * else (compile, fit, evaluate, predict, weights) is Model's.
 */
import { RnnError } from '../errors';
import { Layer } from '../layers/layer';
import { toRnnError } from '../native';
import { checkKnownKeys, describeValue, optionsOrEmpty } from '../validate';
import { emptyGraphArgs, Model } from './model';
import { stackShapes } from './layer_stack';
import { chainTopology } from './topology';
import type { Tensor } from '../tensor';
import type { PredictOptions } from '../training/evaluate';
import type { ModelData } from '../training/model_data';

/** Arguments of `rk.sequential`. */
export interface SequentialArgs {
  /** Model name. Default 'sequential'. */
  name?: string;
  /** Layers to add in order. */
  layers?: Layer[];
}

export type { CompileArgs, CompiledState } from './compile_args';

/** A linear stack of layers trained as one native network; build one with `rk.sequential()`. */
export class Sequential extends Model {
  /** Validates the options eagerly and adds `args.layers` in order. */
  constructor(args: SequentialArgs = {}) {
    const options = optionsOrEmpty(args, 'sequential options');
    checkKnownKeys(options, ['name', 'layers'], 'sequential options');
    if (options.name !== undefined && typeof options.name !== 'string') throw new RnnError('ARGUMENT', `Expected a string for name but received ${describeValue(options.name)}`);
    super(emptyGraphArgs(options.name ?? 'sequential'));
    if (options.layers !== undefined) {
      if (!Array.isArray(options.layers)) throw new RnnError('ARGUMENT', `Expected an array of layers for layers but received ${describeValue(options.layers)}`);
      this.addLayers(options.layers);
    }
  }

  /** Appends a layer; the first one must have an inputShape. Weights are created at once (Keras behaviour). */
  add(layer: Layer): void {
    this.addLayers([layer]);
  }

  /**
   * Appends layers with one native build for all of them (add() per layer rebuilds the network each time, which is
   * quadratic in the layer count: loading a 2,000-layer file took 42 s). All or nothing: on any error the model
   * keeps its previous layers and weights.
   */
  private addLayers(layers: readonly Layer[]): void {
    this.ensureIdle('add a layer');
    const existing = this.layers;
    const existingShapes = existing.length === 0 ? [] : [this.inputShape, ...existing.map((_, i) => this.layerOutputShape(i))];
    const shapes = stackShapes(existing, existingShapes, layers, this.name);
    try {
      this.setTopology(chainTopology([...existing, ...layers], shapes[0], `${this.name}_input`));
    } catch (error) {
      throw toRnnError(error);
    }
  }

  /** Outputs for x, in batches: a Tensor [N, ...outputShape] (one output). */
  override async predict(x: ModelData, options: PredictOptions = {}): Promise<Tensor> {
    return (await super.predict(x, options)) as Tensor;
  }

  /** Outputs for one batch (no splitting). */
  override async predictOnBatch(x: ModelData): Promise<Tensor> {
    return (await super.predictOnBatch(x)) as Tensor;
  }

  /** @internal */
  protected override get isSequential(): boolean {
    return true;
  }

  private layerOutputShape(index: number): readonly number[] {
    return this.topology!.nodes[index].outputs[0].sampleShape;
  }
}

/** Creates a sequential model (tfjs: tf.sequential). */
export function sequential(args?: SequentialArgs): Sequential {
  return new Sequential(args);
}
