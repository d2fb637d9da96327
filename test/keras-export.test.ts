/**
 * Keras export: `model.save(path, { format: 'keras' })` writes what Keras 3's saving code writes (checked against
 * the layout of keras/src/saving/saving_lib.py and the fixtures of test/fixtures/keras, read back with h5wasm and
 * fflate), and every layer kind round-trips rnnkit -> .keras -> rnnkit with the same config and predictions (1e-5).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unzipSync } from 'fflate';
import * as rk from '../lib';
import { H5Group, readHdf5 } from '../lib/io/keras/hdf5';

const T = 5;
const F = 3;
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-export-')); rk.setSeed(11); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sequences(batch: number, steps = T, features = F): rk.Tensor {
  const data = new Float32Array(batch * steps * features).map((_, i) => Math.sin(i * 0.37) * 0.8);
  return new rk.Tensor(data, [batch, steps, features]);
}

/** Every group and dataset below `root` as 'path: shape dtype' lines, sorted. */
function listing(root: H5Group): string[] {
  const out: string[] = [];
  const walk = (group: H5Group, prefix: string) => {
    for (const key of group.keys()) {
      const entity = group.get(key)!;
      const p = prefix ? `${prefix}/${key}` : key;
      if (entity.type === 'Group') {
        out.push(`${p}/`);
        walk(entity as H5Group, p);
      } else {
        const ds = entity as unknown as { shape: number[]; dtype: string };
        out.push(`${p}: [${ds.shape.join(',')}] ${ds.dtype}`);
      }
    }
  };
  walk(root, '');
  return out.sort();
}

const lstm = (args: Record<string, unknown> = {}) => rk.layers.lstm({ units: 4, ...args } as never);
const CASES: Array<[string, () => rk.Layer[], rk.Tensor]> = [
  ['SimpleRNN + Dense', () => [rk.layers.simpleRNN({ units: 4, inputShape: [T, F], returnSequences: true, activation: 'relu', kernelRegularizer: { l2: 0.01 } }), rk.layers.dense({ units: 2 })], sequences(3)],
  ['LSTM + Dense softmax', () => [lstm({ inputShape: [T, F], dropout: 0.2, recurrentDropout: 0.1, unitForgetBias: false }), rk.layers.dense({ units: 3, activation: 'softmax' })], sequences(3)],
  ['GRU reset after', () => [rk.layers.gru({ units: 4, inputShape: [T, F], goBackwards: true }), rk.layers.dense({ units: 1, activation: 'sigmoid' })], sequences(3)],
  ['GRU reset before + TimeDistributed', () => [rk.layers.gru({ units: 4, inputShape: [T, F], resetAfter: false, returnSequences: true, useBias: false }), rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) })], sequences(2)],
  ...(['concat', 'sum', 'mul', 'ave'] as const).map((mergeMode): [string, () => rk.Layer[], rk.Tensor] => [
    `Bidirectional ${mergeMode} + Dropout`,
    () => [rk.layers.bidirectional({ layer: lstm({ returnSequences: true }) as never, mergeMode, inputShape: [T, F] }), rk.layers.dropout({ rate: 0.3 }), rk.layers.dense({ units: 2 })],
    sequences(2),
  ]),
  ['Bidirectional GRU reset after', () => [rk.layers.bidirectional({ layer: rk.layers.gru({ units: 3 }) as never, inputShape: [T, F] }), rk.layers.dense({ units: 2 })], sequences(2)],
  ['Embedding mask_zero + LSTM', () => [rk.layers.embedding({ inputDim: 9, outputDim: 4, maskZero: true, inputShape: [T] }), lstm(), rk.layers.dense({ units: 1 })],
    new rk.Tensor(Float32Array.from([1, 5, 8, 0, 0, 3, 3, 2, 7, 0]), [2, T])],
  ['Masking + LSTM sequences + TimeDistributed', () => [rk.layers.masking({ maskValue: 0, inputShape: [T, F] }), lstm({ returnSequences: true }), rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) })],
    new rk.Tensor(Float32Array.from(sequences(2).data).fill(0, 9, 15), [2, T, F])],
  ['Masking + GRU', () => [rk.layers.masking({ maskValue: 0, inputShape: [T, F] }), rk.layers.gru({ units: 3 }), rk.layers.dense({ units: 2 })],
    new rk.Tensor(Float32Array.from(sequences(2).data).fill(0, 9, 15), [2, T, F])],
  ['LSTM + RepeatVector + GRU + Flatten + Reshape', () => [lstm({ inputShape: [T, F] }), rk.layers.repeatVector({ n: 3 }), rk.layers.gru({ units: 4, returnSequences: true }),
    rk.layers.flatten(), rk.layers.reshape({ targetShape: [2, -1] }), rk.layers.dense({ units: 2 })], sequences(2)],
];

describe('round trip rnnkit -> .keras -> rnnkit', () => {
  test.each(CASES)('%s', async (name, layers, x) => {
    const model = rk.sequential({ name: 'round_trip', layers: layers() });
    const file = path.join(tmp, `${name.replace(/[^a-z0-9]+/gi, '_')}.keras`);
    await model.save(file, { format: 'keras' });
    const loaded = (await rk.loadModel(file)) as rk.Sequential;
    expect(loaded.name).toBe('round_trip');
    expect(loaded.layers.map((l) => ({ className: l.className, config: l.getConfig() })))
      .toEqual(model.layers.map((l) => ({ className: l.className, config: l.getConfig() })));
    const [a, b] = [await model.predict(x), await loaded.predict(x)];
    expect(b.shape).toEqual(a.shape);
    for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i] - b.data[i])).toBeLessThan(1e-5);
    loaded.getWeights().forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(model.getWeights()[i].data)));
    model.dispose();
    loaded.dispose();
  });
});

describe("the files match Keras's layout", () => {
  test('zip entries, metadata keys and config.json as serialize_keras_object writes them', async () => {
    const model = rk.sequential({ layers: [lstm({ inputShape: [T, F], name: 'enc' }), rk.layers.dense({ units: 3, name: 'head' })] });
    const file = path.join(tmp, 'layout.keras');
    await model.save(file, { format: 'keras' });
    const bytes = fs.readFileSync(file);
    // Entries in Keras's order, stored (compression method 0) as Python's zipfile writes by default.
    expect(bytes.readUInt16LE(8)).toBe(0);
    const names: string[] = [];
    for (let offset = 0; bytes.readUInt32LE(offset) === 0x04034b50;) {
      const nameLength = bytes.readUInt16LE(offset + 26);
      names.push(bytes.subarray(offset + 30, offset + 30 + nameLength).toString());
      offset += 30 + nameLength + bytes.readUInt16LE(offset + 28) + bytes.readUInt32LE(offset + 18);
    }
    expect(names).toEqual(['metadata.json', 'config.json', 'model.weights.h5']);
    const entries = unzipSync(bytes);
    const metadata = JSON.parse(Buffer.from(entries['metadata.json']).toString());
    expect(Object.keys(metadata)).toEqual(expect.arrayContaining(['keras_version', 'date_saved']));
    expect(metadata.date_saved).toMatch(/^\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d$/);
    const config = JSON.parse(Buffer.from(entries['config.json']).toString());
    expect(Object.keys(config)).toEqual(['module', 'class_name', 'config', 'registered_name', 'build_config']);
    expect(config.config.layers[0]).toEqual({ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, T, F], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null });
    // The LSTM entry has the keys of the fixture written from Keras's LSTM.get_config.
    const fixture = JSON.parse(Buffer.from(unzipSync(fs.readFileSync(path.join(__dirname, 'fixtures', 'keras', 'lstm.keras')))['config.json']).toString());
    expect(Object.keys(config.config.layers[1]).sort()).toEqual(Object.keys(fixture.config.layers[1]).sort());
    expect(Object.keys(config.config.layers[1].config).sort()).toEqual(Object.keys(fixture.config.layers[1].config).sort());
    expect(Object.keys(config.config.layers[2].config).sort()).toEqual(Object.keys(fixture.config.layers[2].config).sort());
    expect(config.config.layers[1].config.recurrent_initializer).toEqual({ module: 'keras.initializers', class_name: 'OrthogonalInitializer', config: { gain: 1, seed: null }, registered_name: null });
    expect(config.config.layers[1].build_config).toEqual({ input_shape: [null, T, F] });
    model.dispose();
  });

  test('model.weights.h5: H5IOStore paths (class-named containers, cells, wrappers), float32 datasets', async () => {
    const model = rk.sequential({
      layers: [
        rk.layers.bidirectional({ layer: rk.layers.gru({ units: 2, returnSequences: true }) as never, inputShape: [T, F] }),
        lstm({ returnSequences: true }), rk.layers.dropout({ rate: 0.1 }), rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) }),
        lstm(), rk.layers.dense({ units: 1 }),
      ],
    });
    const file = path.join(tmp, 'paths.keras');
    await model.save(file, { format: 'keras' });
    const h5 = unzipSync(fs.readFileSync(file))['model.weights.h5'];
    expect(h5[8]).toBe(0); // superblock version 0, as h5py writes by default (readable by every HDF5 release)
    const lines = await readHdf5(h5, 'model.weights.h5', listing);
    expect(lines).toEqual([
      'layers/',
      'layers/bidirectional/', 'layers/bidirectional/backward_layer/', 'layers/bidirectional/backward_layer/cell/',
      'layers/bidirectional/backward_layer/cell/vars/', 'layers/bidirectional/backward_layer/cell/vars/0: [3,6] <f',
      'layers/bidirectional/backward_layer/cell/vars/1: [2,6] <f', 'layers/bidirectional/backward_layer/cell/vars/2: [2,6] <f',
      'layers/bidirectional/backward_layer/vars/',
      'layers/bidirectional/forward_layer/', 'layers/bidirectional/forward_layer/cell/', 'layers/bidirectional/forward_layer/cell/vars/',
      'layers/bidirectional/forward_layer/cell/vars/0: [3,6] <f', 'layers/bidirectional/forward_layer/cell/vars/1: [2,6] <f',
      'layers/bidirectional/forward_layer/cell/vars/2: [2,6] <f', 'layers/bidirectional/forward_layer/vars/',
      'layers/bidirectional/vars/',
      'layers/dense/', 'layers/dense/vars/', 'layers/dense/vars/0: [4,1] <f', 'layers/dense/vars/1: [1] <f',
      'layers/dropout/', 'layers/dropout/vars/',
      'layers/lstm/', 'layers/lstm/cell/', 'layers/lstm/cell/vars/', 'layers/lstm/cell/vars/0: [4,16] <f',
      'layers/lstm/cell/vars/1: [4,16] <f', 'layers/lstm/cell/vars/2: [16] <f', 'layers/lstm/vars/',
      'layers/lstm_1/', 'layers/lstm_1/cell/', 'layers/lstm_1/cell/vars/', 'layers/lstm_1/cell/vars/0: [2,16] <f',
      'layers/lstm_1/cell/vars/1: [4,16] <f', 'layers/lstm_1/cell/vars/2: [16] <f', 'layers/lstm_1/vars/',
      'layers/time_distributed/', 'layers/time_distributed/layer/', 'layers/time_distributed/layer/vars/',
      'layers/time_distributed/layer/vars/0: [4,2] <f', 'layers/time_distributed/layer/vars/1: [2] <f', 'layers/time_distributed/vars/',
      'vars/',
    ]);
    model.dispose();
  });

  test('the fixtures written from Keras saving code list the same paths as rnnkit writes for the same model', async () => {
    const fixture = unzipSync(fs.readFileSync(path.join(__dirname, 'fixtures', 'keras', 'bidirectional_concat.keras')))['model.weights.h5'];
    const loaded = (await rk.loadModel(path.join(__dirname, 'fixtures', 'keras', 'bidirectional_concat.keras'))) as rk.Sequential;
    const file = path.join(tmp, 'again.keras');
    await loaded.save(file, { format: 'keras' });
    const ours = unzipSync(fs.readFileSync(file))['model.weights.h5'];
    expect(await readHdf5(ours, 'ours', listing)).toEqual(await readHdf5(fixture, 'fixture', listing));
    loaded.dispose();
  });

  test("hardSigmoid is refused (Keras 3's hard_sigmoid is another function), and so is includeOptimizer", async () => {
    const model = rk.sequential({ layers: [rk.layers.gru({ units: 2, inputShape: [T, F], recurrentActivation: 'hardSigmoid' })] });
    await expect(model.save(path.join(tmp, 'hard.keras'), { format: 'keras' })).rejects.toMatchObject({ code: 'FORMAT', message: expect.stringMatching(/relu6/) });
    await expect(model.save(path.join(tmp, 'opt.keras'), { format: 'keras', includeOptimizer: true })).rejects.toMatchObject({ code: 'ARGUMENT' });
    expect(fs.existsSync(path.join(tmp, 'hard.keras'))).toBe(false);
    model.dispose();
  });
});
