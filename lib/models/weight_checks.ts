/**
 * Checks of user-supplied weights for one layer, before anything is written: the count, that each is a tensor, its
 * shape and finite values. Messages name the layer, the weight and what was expected and received.
 */
import { RnnError } from '../errors';
import type { NativeParamInfo } from '../native';
import { Tensor } from '../tensor';
import { describeValue, isPlainObject } from '../validate';

/** Throws unless `weights` match `expected` (the layer's native parameters, in order). */
export function checkLayerWeights(layerName: string, expected: readonly NativeParamInfo[], weights: Tensor[]): void {
  if (!Array.isArray(weights) || weights.length !== expected.length) {
    throw new RnnError('SHAPE', `Expected ${expected.length} weight tensors for layer '${layerName}' but received ${Array.isArray(weights) ? weights.length : describeValue(weights)}`);
  }
  expected.forEach((info, k) => {
    const w = weights[k];
    if (!(w instanceof Tensor) && !(isPlainObject(w) || typeof (w as { dataSync?: unknown }).dataSync === 'function')) {
      throw new RnnError('DTYPE', `Expected a Tensor for weight '${info.name}' of layer '${layerName}' but received ${describeValue(w)}`);
    }
    const shape = (w as Tensor).shape;
    if (!shape || shape.length !== info.shape.length || shape.some((d, i) => d !== info.shape[i])) {
      throw new RnnError('SHAPE', `Expected weight '${info.name}' of layer '${layerName}' to have shape [${info.shape.join(', ')}] but received [${shape ? shape.join(', ') : '?'}]`);
    }
    const data = (w as Tensor).dataSync();
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new RnnError('NOT_FINITE', `Expected finite values in weight '${info.name}' of layer '${layerName}' but received ${data[i]} at ${i}`);
    }
  });
}
