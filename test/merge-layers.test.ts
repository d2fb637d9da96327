/**
 * The merge layers (concatenate, add, subtract, multiply, average, maximum): option errors, output shapes for 2+
 * inputs (a time dimension of any length is -1 and shows as null), getConfig round trips and the tfjs config keys.
 * Their numerics (values, float64 gradients of every input, masks) are checked natively in
 * native/tests/merge_layers_test.cc and against tfjs in test/merge-functional.test.ts.
 */
import * as rk from '../lib';
import { fromTfjsLayer, toTfjsLayer } from '../lib/io/tfjs_config';
import { layerFromConfig, serializeLayer } from '../lib/layers/registry';
import { thrown } from './helpers/checks';

type Factory = (args?: { name?: string; trainable?: boolean }) => rk.Layer;
const ELEMENTWISE: [string, Factory][] = [
  ['Add', rk.layers.add], ['Subtract', rk.layers.subtract], ['Multiply', rk.layers.multiply],
  ['Average', rk.layers.average], ['Maximum', rk.layers.maximum],
];

describe.each(ELEMENTWISE)('%s', (className, factory) => {
  it('takes inputs of one shape and gives that shape; refuses others with SHAPE naming every shape', () => {
    const layer = factory({ name: 'm' });
    expect(layer.className).toBe(className);
    expect(layer.computeOutputShapes([[5, 3], [5, 3]])).toEqual([[5, 3]]);
    expect(layer.computeOutputShapes([[-1, 3], [-1, 3]])).toEqual([[-1, 3]]);
    const unequal = thrown(() => layer.computeOutputShapes([[5, 3], [5, 2]]));
    expect([unequal.code, unequal.message]).toEqual(['SHAPE', `Expected inputs of one shape for layer 'm' (${className}) but received [5, 3], [5, 2]`]);
    expect(thrown(() => layer.computeOutputShapes([[-1, 3], [4, 3]])).message).toMatch(/\[null, 3\], \[4, 3\]/);
    const one = thrown(() => layer.computeOutputShape([5, 3]));
    expect([one.code, one.message]).toEqual(['SHAPE', expect.stringMatching(/at least 2|exactly 2/)]);
    if (className === 'Subtract') {
      expect(thrown(() => layer.computeOutputShapes([[3], [3], [3]])).message).toMatch(/exactly 2 input tensors for subtract layer 'm' but received 3/);
    } else {
      expect(layer.computeOutputShapes([[3], [3], [3]])).toEqual([[3]]);
    }
  });

  it('has no weights, refuses unknown options, and round-trips its config (rnnkit and tfjs keys)', () => {
    const layer = factory({ name: 'merged', trainable: false });
    expect(layer.weightSpecs([3])).toEqual([]);
    expect(layer.getConfig()).toEqual({ name: 'merged', trainable: false });
    const copy = layerFromConfig(serializeLayer(layer));
    expect([copy.className, copy.getConfig()]).toEqual([className, layer.getConfig()]);
    if (className === 'Subtract') {
      // tfjs has no Subtract layer: the tfjs format refuses it by name rather than write a file tfjs cannot load.
      const error = thrown(() => toTfjsLayer(serializeLayer(layer)));
      expect([error.code, error.message]).toEqual(['FORMAT', "Expected a layer tfjs can represent for the tfjs format but layer 'merged' is of class Subtract, which tfjs does not have"]);
      expect(thrown(() => fromTfjsLayer({ class_name: 'Subtract', config: { name: 's' } }, 'layer', 'model.json')).code).toBe('FORMAT');
    } else {
      const tfjs = toTfjsLayer(serializeLayer(layer));
      expect(tfjs).toEqual({ class_name: className, config: { name: 'merged', trainable: false } });
      expect(fromTfjsLayer(tfjs, 'layer', 'model.json')).toEqual(serializeLayer(layer));
    }
    expect(thrown(() => factory({ inputShape: [3] } as never)).message).toMatch(/Unknown option 'inputShape'.*allowed options are: name, trainable/);
    expect(thrown(() => factory('add' as never)).code).toBe('ARGUMENT');
  });
});

describe('Concatenate', () => {
  it('joins along the axis Keras means (batch = 0, default -1) and keeps an unknown length unknown', () => {
    expect(rk.layers.concatenate().computeOutputShapes([[5, 3], [5, 2], [5, 1]])).toEqual([[5, 6]]);
    expect(rk.layers.concatenate({ axis: 2 }).computeOutputShapes([[5, 3], [5, 2]])).toEqual([[5, 5]]);
    expect(rk.layers.concatenate({ axis: 1 }).computeOutputShapes([[5, 3], [2, 3]])).toEqual([[7, 3]]);
    expect(rk.layers.concatenate({ axis: -2 }).computeOutputShapes([[-1, 3], [2, 3]])).toEqual([[-1, 3]]);
    expect(rk.layers.concatenate().computeOutputShapes([[-1, 3], [-1, 2]])).toEqual([[-1, 5]]);
    expect(rk.layers.concatenate().computeOutputShapes([[4], [2]])).toEqual([[6]]);
  });

  it('refuses shapes that differ off the axis, mixed ranks and an axis outside the inputs with SHAPE', () => {
    const layer = rk.layers.concatenate({ name: 'cat' });
    const off = thrown(() => layer.computeOutputShapes([[5, 3], [4, 2]]));
    expect([off.code, off.message]).toEqual(['SHAPE', "Expected inputs of equal shapes except along axis -1 for layer 'cat' (Concatenate) but received [5, 3], [4, 2]"]);
    expect(thrown(() => layer.computeOutputShapes([[5, 3], [3]])).message).toMatch(/one rank for layer 'cat'.*\[5, 3\], \[3\]/);
    expect(thrown(() => layer.computeOutputShapes([[5, 3]])).message).toMatch(/at least 2 input tensors for concatenate layer 'cat' but received 1/);
    const axis = thrown(() => rk.layers.concatenate({ axis: 3, name: 'c3' }).computeOutputShapes([[5, 3], [5, 3]]));
    expect([axis.code, axis.message]).toEqual(['SHAPE', expect.stringMatching(/axis within the 3 dimensions .*1\.\.2 or -2\.\.-1.* layer 'c3' but received 3/)]);
  });

  it('refuses a bad axis with ARGUMENT', () => {
    expect(thrown(() => rk.layers.concatenate({ axis: 0, name: 'c' })).message).toMatch(/axis other than 0 \(the batch dimension\) for c\.axis but received 0/);
    expect(thrown(() => rk.layers.concatenate({ axis: 1.5 })).message).toMatch(/an integer .*axis but received 1\.5/);
    expect(thrown(() => rk.layers.concatenate({ axes: 1 } as never)).message).toMatch(/Unknown option 'axes'.*did you mean 'axis'/);
  });

  it('round-trips its config (rnnkit and tfjs keys)', () => {
    const layer = rk.layers.concatenate({ axis: 1, name: 'join' });
    expect(layer.getConfig()).toEqual({ name: 'join', trainable: true, axis: 1 });
    expect(layerFromConfig(serializeLayer(layer)).getConfig()).toEqual(layer.getConfig());
    const tfjs = toTfjsLayer(serializeLayer(layer));
    expect(tfjs).toEqual({ class_name: 'Concatenate', config: { name: 'join', trainable: true, axis: 1 } });
    expect(fromTfjsLayer(tfjs, 'layer', 'model.json')).toEqual(serializeLayer(layer));
    expect(rk.layers.concatenate().axis).toBe(-1);
  });
});

it('a merge layer in a sequential model is refused with SHAPE (it needs 2 or more inputs)', () => {
  const model = rk.sequential();
  model.add(rk.layers.dense({ units: 3, inputShape: [4] }));
  const error = thrown(() => model.add(rk.layers.add({ name: 'sum' })));
  expect([error.code, error.message]).toEqual(['SHAPE', "Expected at least 2 input tensors for add layer 'sum' but received 1"]);
  expect(model.layers.length).toBe(1);
});
