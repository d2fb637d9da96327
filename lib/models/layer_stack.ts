/** Checking layers appended to a sequential stack, before anything is built. */
import { RnnError } from '../errors';
import { Layer } from '../layers/layer';
import { describeValue } from '../validate';

/**
 * The per-sample shapes of `existing` followed by `added` (shapes[i] = input of layer i, last = output), after
 * checking each added layer: an rk.layers object not in another model, a unique name, an inputShape on the very first
 * layer and, where one is given elsewhere, one that matches the previous output, and one output tensor (a recurrent
 * layer with returnState has several, which a chain cannot pass on). `existingShapes` belongs to
 * `existing` (empty when it is).
 */
export function stackShapes(existing: readonly Layer[], existingShapes: readonly (readonly number[])[],
  added: readonly Layer[], modelName: string): number[][] {
  const names = new Set(existing.map((l) => l.name));
  const shapes = existingShapes.map((s) => s.slice());
  for (const layer of added) {
    if (!(layer instanceof Layer)) throw new RnnError('ARGUMENT', `Expected a layer from rk.layers but received ${describeValue(layer)}`);
    if (layer.host) throw new RnnError('STATE', `Layer '${layer.name}' already belongs to a model; create a new layer (rk.transfer copies layers between models)`);
    if (names.has(layer.name)) throw new RnnError('ARGUMENT', `Expected unique layer names but '${layer.name}' is already in model '${modelName}'`);
    names.add(layer.name);
    let input: readonly number[];
    if (shapes.length === 0) {
      if (!layer.inputShape) throw new RnnError('ARGUMENT', `Expected an inputShape on the first layer ('${layer.name}'), e.g. inputShape: [timeSteps, features]`);
      input = layer.inputShape;
      shapes.push(input.slice());
    } else {
      input = shapes[shapes.length - 1];
      if (layer.inputShape && layer.inputShape.join() !== input.join()) {
        throw new RnnError('SHAPE', `Expected layer '${layer.name}' to take the previous output shape [${input.join(', ')}] but its inputShape is [${layer.inputShape.join(', ')}]`);
      }
    }
    const outputs = layer.computeOutputShapes([input]);
    if (outputs.length !== 1) {
      throw new RnnError('ARGUMENT', `Expected layers with one output in sequential model '${modelName}' but layer '${layer.name}' returns ${outputs.length} tensors (returnState: true, or a bidirectional layer with mergeMode null); use a functional model instead`);
    }
    shapes.push(outputs[0]);
  }
  return shapes;
}
