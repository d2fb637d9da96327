/**
 * PyTorch import: `model.loadWeights(file, { from: 'pytorch', map })` against golden files written by PyTorch 1.13
 * (scripts/fixtures/pytorch_fixtures.py; test/fixtures/pytorch/). Each fixture loads into the equivalent rnnkit model
 * and predict equals PyTorch's own outputs to 1e-5 (F16/BF16 files: PyTorch's outputs were computed from the
 * weights as stored, so the same tolerance holds). Forged and truncated files are FORMAT errors that never read
 * outside the file; pickles are refused with the conversion hint; mismatches name the tensor and change nothing.
 */
import { spawnSync } from 'child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { decodeTensor, halfToFloat, parseSafetensors } from '../lib/io/safetensors';
import { expectRnnError } from './helpers/checks';

const FIXTURES = join(__dirname, 'fixtures', 'pytorch');
const root = mkdtempSync(join(tmpdir(), 'rnnkit-pytorch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

const fixture = (name: string) => join(FIXTURES, `${name}.safetensors`);
const golden = (name: string) => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as { dtype: string; input: unknown; output: unknown };

/** The rnnkit model equivalent to each PyTorch model of the fixture script. */
const MODELS: Record<string, () => rk.Sequential> = {
  lstm_classifier: () => rk.sequential({ layers: [
    rk.layers.lstm({ units: 8, inputShape: [5, 3] }), rk.layers.dense({ units: 6, activation: 'relu' }), rk.layers.dense({ units: 2 }),
  ] }),
  gru_2layer: () => rk.sequential({ layers: [
    rk.layers.gru({ units: 6, returnSequences: true, inputShape: [6, 3] }), rk.layers.gru({ units: 6 }), rk.layers.dense({ units: 1 }),
  ] }),
  bilstm_tagger: () => rk.sequential({ layers: [
    rk.layers.bidirectional({ layer: rk.layers.lstm({ units: 5, returnSequences: true }), inputShape: [4, 3] }),
    rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 2 }) }),
  ] }),
  bigru_2layer: () => rk.sequential({ layers: [
    rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4, returnSequences: true }), inputShape: [5, 3] }),
    rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4 }) }), rk.layers.dense({ units: 2 }),
  ] }),
  rnn_relu: () => rk.sequential({ layers: [
    rk.layers.simpleRNN({ units: 4, activation: 'relu', inputShape: [5, 2] }), rk.layers.dense({ units: 3 }),
  ] }),
  embedding_lstm: () => rk.sequential({ layers: [
    rk.layers.embedding({ inputDim: 10, outputDim: 4, inputShape: [7] }), rk.layers.lstm({ units: 6 }), rk.layers.dense({ units: 3 }),
  ] }),
};
MODELS.gru_2layer_f16 = MODELS.gru_2layer;
MODELS.lstm_classifier_bf16 = MODELS.lstm_classifier;

function maxDifference(a: unknown, b: unknown): number {
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
  const [x, y] = [flat(a), flat(b)];
  expect(x.length).toBe(y.length);
  return Math.max(...x.map((v, i) => Math.abs(v - y[i])));
}

function weightsOf(model: rk.Sequential): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.data));
}

/** Runs a load that must fail with `code` and `message`, and checks that no weight changed. */
async function expectRefused(model: rk.Sequential, file: string, options: rk.LoadWeightsOptions, code: rk.RnnErrorCode, message: RegExp) {
  const before = weightsOf(model);
  const error = await expectRnnError(() => model.loadWeights(file, options), code, message);
  expect(weightsOf(model)).toEqual(before);
  return error;
}

interface RawTensor { name: string; dtype?: string; shape: number[]; data: Buffer }

/** A safetensors file written from the specification (little-endian length, JSON header, data), optionally forged. */
function safetensorsBytes(tensors: RawTensor[], metadata?: Record<string, string>, edit?: (header: Record<string, any>) => void): Buffer {
  const header: Record<string, any> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  edit?.(header);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...tensors.map((t) => t.data)]);
}

function f32(values: number[]): Buffer {
  return Buffer.from(Float32Array.from(values).buffer);
}

function tempFile(bytes: Buffer, name = `w${counter++}.safetensors`): string {
  const file = join(root, name);
  writeFileSync(file, bytes);
  return file;
}

/** The tensors of a fixture, renamed by `rename` (undefined drops one). */
function fixtureTensors(name: string, rename: (tensor: string) => string | undefined = (t) => t): RawTensor[] {
  const bytes = readFileSync(fixture(name));
  const parsed = parseSafetensors(bytes, name);
  return parsed.tensors.flatMap((entry) => {
    const renamed = rename(entry.name);
    if (renamed === undefined) return [];
    return [{ name: renamed, shape: entry.shape.slice(), data: Buffer.from(decodeTensor(parsed, entry, name).buffer) }];
  });
}

describe('PyTorch golden files: predict equals PyTorch to 1e-5', () => {
  test.each(Object.keys(MODELS))('%s', async (name) => {
    const model = MODELS[name]();
    const report = await model.loadWeights(fixture(name), { from: 'pytorch' });
    expect(report.unchanged).toEqual([]);
    expect(report.loaded.map((l) => l.layer)).toEqual(model.layers.filter((l) => l.countParams(model.layerInputShape(model.layers.indexOf(l))) > 0).map((l) => l.name));
    const { input, output, dtype } = golden(name);
    expect(dtype).toBe(name.endsWith('_f16') ? 'F16' : name.endsWith('_bf16') ? 'BF16' : 'F32');
    const predicted = (await model.predict(input as rk.NestedArray)).array();
    expect(maxDifference(predicted, output)).toBeLessThan(1e-5);
  });

  test('the stacked _l0/_l1 layers fill consecutive layers with weights, skipping a dropout between them', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.gru({ units: 6, returnSequences: true, inputShape: [6, 3], name: 'first' }), rk.layers.dropout({ rate: 0.5 }),
      rk.layers.gru({ units: 6, name: 'second' }), rk.layers.dense({ units: 1, name: 'out' }),
    ] });
    const report = await model.loadWeights(fixture('gru_2layer'), { from: 'pytorch', map: { gru: 'first', head: 'out' } });
    expect(report.loaded).toEqual([
      { layer: 'first', tensors: ['gru.weight_ih_l0', 'gru.weight_hh_l0', 'gru.bias_ih_l0', 'gru.bias_hh_l0'] },
      { layer: 'second', tensors: ['gru.weight_ih_l1', 'gru.weight_hh_l1', 'gru.bias_ih_l1', 'gru.bias_hh_l1'] },
      { layer: 'out', tensors: ['head.weight', 'head.bias'] },
    ]);
    const { input, output } = golden('gru_2layer');
    expect(maxDifference((await model.predict(input as rk.NestedArray)).array(), output)).toBeLessThan(1e-5);
  });

  test('a bare module state dict (no prefix) loads, and with map only the named layers change', async () => {
    const bare = tempFile(safetensorsBytes(fixtureTensors('lstm_classifier', (t) => (t.startsWith('lstm.') ? t.slice(5) : undefined))));
    const model = MODELS.lstm_classifier();
    const headBefore = weightsOf(model).slice(3);
    const report = await model.loadWeights(bare, { from: 'pytorch', map: { '': model.layers[0].name } });
    expect(report.unchanged).toEqual([model.layers[1].name, model.layers[2].name]);
    expect(weightsOf(model).slice(3)).toEqual(headBefore);
    const reference = MODELS.lstm_classifier();
    await reference.loadWeights(fixture('lstm_classifier'), { from: 'pytorch' });
    expect(weightsOf(model).slice(0, 3)).toEqual(weightsOf(reference).slice(0, 3));
    // Without map, a layer left without weights is an error.
    await expectRefused(MODELS.lstm_classifier(), bare, { from: 'pytorch' }, 'SHAPE', /'dense.*received none.*map/);
  });

  test('gate order: a GRU turns r z n into z r h, transposed, with the two bias rows apart (an LSTM keeps i f g o: the golden files)', async () => {
    const H = 2, block = (gate: number, width: number) => Array.from({ length: H * width }, (_, i) => 10 * gate + i);
    const gru = tempFile(safetensorsBytes([
      { name: 'g.weight_ih_l0', shape: [3 * H, 1], data: f32([...block(0, 1), ...block(1, 1), ...block(2, 1)]) },
      { name: 'g.weight_hh_l0', shape: [3 * H, H], data: f32([...block(0, H), ...block(1, H), ...block(2, H)]) },
      { name: 'g.bias_ih_l0', shape: [3 * H], data: f32([1, 2, 3, 4, 5, 6]) },
      { name: 'g.bias_hh_l0', shape: [3 * H], data: f32([7, 8, 9, 10, 11, 12]) },
    ]));
    const model = rk.sequential({ layers: [rk.layers.gru({ units: H, inputShape: [3, 1] })] });
    await model.loadWeights(gru, { from: 'pytorch' });
    const [kernel, recurrent, bias] = model.getWeights().map((w) => w.array());
    expect(kernel).toEqual([[10, 11, 0, 1, 20, 21]]);               // z (torch block 1), r (block 0), h (block 2)
    expect(recurrent).toEqual([[10, 12, 0, 2, 20, 22], [11, 13, 1, 3, 21, 23]]);
    expect(bias).toEqual([[3, 4, 1, 2, 5, 6], [9, 10, 7, 8, 11, 12]]);
  });
});

describe('mismatches name the tensor, expected and received, and change nothing', () => {
  test('a unit count that differs', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.lstm({ units: 7, inputShape: [5, 3] }), rk.layers.dense({ units: 6, activation: 'relu' }), rk.layers.dense({ units: 2 }),
    ] });
    await expectRefused(model, fixture('lstm_classifier'), { from: 'pytorch', map: { lstm: model.layers[0].name } }, 'SHAPE',
      /tensor 'lstm.weight_hh_l0' to have shape \[28, 7\].*received \[32, 8\]/);
  });
  test('a tensor the model has no place for', async () => {
    const model = rk.sequential({ layers: [rk.layers.lstm({ units: 8, inputShape: [5, 3] }), rk.layers.dense({ units: 6 })] });
    await expectRefused(model, fixture('lstm_classifier'), { from: 'pytorch' }, 'SHAPE', /fc2\.weight/);
  });
  test('a missing tensor', async () => {
    const file = tempFile(safetensorsBytes(fixtureTensors('rnn_relu', (t) => (t === 'fc.bias' ? undefined : t))));
    await expectRefused(MODELS.rnn_relu(), file, { from: 'pytorch' }, 'SHAPE', /tensor 'fc\.bias' of shape \[3\].*no such tensor/);
  });
  test('an nn.RNN whose nonlinearity (from the metadata) differs from the layer activation', async () => {
    const model = rk.sequential({ layers: [rk.layers.simpleRNN({ units: 4, inputShape: [5, 2] }), rk.layers.dense({ units: 3 })] });
    await expectRefused(model, fixture('rnn_relu'), { from: 'pytorch', map: { rnn: model.layers[0].name, fc: model.layers[1].name } },
      'ARGUMENT', /activation 'relu'.*nonlinearity 'relu'.*has 'tanh'/);
  });
  test('a GRU with resetAfter: false', async () => {
    const model = rk.sequential({ layers: [
      rk.layers.gru({ units: 6, returnSequences: true, inputShape: [6, 3], resetAfter: false }), rk.layers.gru({ units: 6, resetAfter: false }),
      rk.layers.dense({ units: 1 }),
    ] });
    await expectRefused(model, fixture('gru_2layer'), { from: 'pytorch', map: { gru: model.layers[0].name } }, 'ARGUMENT', /resetAfter: true.*reset-after/);
  });
  test('a bidirectional module into a one-direction layer', async () => {
    const model = rk.sequential({ layers: [rk.layers.lstm({ units: 5, returnSequences: true, inputShape: [4, 3] }), rk.layers.dense({ units: 2 })] });
    await expectRefused(model, fixture('bilstm_tagger'), { from: 'pytorch', map: { rnn: model.layers[0].name } }, 'SHAPE', /bidirectional/);
  });
  test('proj_size != 0 is refused', async () => {
    const lstm = fixtureTensors('lstm_classifier', (t) => (t.startsWith('lstm.') ? t : undefined));
    lstm.push({ name: 'lstm.weight_hr_l0', shape: [4, 8], data: f32(new Array(32).fill(0)) });
    await expectRefused(MODELS.lstm_classifier(), tempFile(safetensorsBytes(lstm)), { from: 'pytorch' }, 'ARGUMENT', /proj_size.*weight_hr_l0/);
  });
  test('two modules that fit one layer are ambiguous until map says which', async () => {
    const linear = (name: string, v: number): RawTensor[] => [
      { name: `${name}.weight`, shape: [2, 2], data: f32([v, 0, 0, v]) }, { name: `${name}.bias`, shape: [2], data: f32([v, v]) },
    ];
    const file = tempFile(safetensorsBytes([...linear('a', 1), ...linear('b', 2)]));
    const model = () => rk.sequential({ layers: [rk.layers.dense({ units: 2, inputShape: [2], name: 'x' }), rk.layers.dense({ units: 2, name: 'y' })] });
    await expectRefused(model(), file, { from: 'pytorch' }, 'ARGUMENT', /'a' and 'b' all do.*map/);
    const mapped = model();
    await mapped.loadWeights(file, { from: 'pytorch', map: { b: 'x', a: 'y' } });
    expect(mapped.getWeights().map((w) => w.array())).toEqual([[[2, 0], [0, 2]], [2, 2], [[1, 0], [0, 1]], [1, 1]]);
  });
  test('bad options: from must name a known framework, map must name modules and layers', async () => {
    const model = MODELS.rnn_relu();
    await expectRefused(model, fixture('rnn_relu'), { from: 'tensorflow' } as unknown as rk.LoadWeightsOptions, 'ARGUMENT', /'pytorch' or 'keras'.*"tensorflow"/);
    await expectRefused(model, fixture('rnn_relu'), {} as rk.LoadWeightsOptions, 'ARGUMENT', /from/);
    await expectRefused(model, fixture('rnn_relu'), { from: 'pytorch', map: { nope: 'x' } }, 'ARGUMENT', /map key 'nope'.*'fc', 'rnn'/);
    await expectRefused(model, fixture('rnn_relu'), { from: 'pytorch', map: { rnn: 'nope' } }, 'ARGUMENT', /map\['rnn'\].*"nope"/);
    await expectRefused(model, fixture('rnn_relu'), { from: 'pytorch', maxBytes: 100 }, 'MEMORY', /maxBytes/);
  });
});

describe('pickles are refused with the conversion hint', () => {
  test.each([
    ['model.pt', Buffer.from('anything')],
    ['state.pth', Buffer.from('anything')],
    ['pytorch_model.bin', Buffer.from('anything')],
    ['zip.safetensors', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0])],
    ['pickle.safetensors', Buffer.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0])],
  ])('%s', async (name, bytes) => {
    const error = await expectRefused(MODELS.rnn_relu(), tempFile(bytes, `${counter++}-${name}`), { from: 'pytorch' }, 'FORMAT', /pickle/);
    expect(error.message).toMatch(/from safetensors\.torch import save_file\n.*save_file\(model\.state_dict\(\), 'state\.safetensors'\)/);
  });
});

describe('forged and truncated safetensors files are FORMAT errors', () => {
  const good = readFileSync(fixture('rnn_relu'));
  const tensor = (edit?: (h: Record<string, any>) => void, data = f32([1, 2, 3])) => safetensorsBytes([{ name: 't', shape: [3], data }], undefined, edit);
  test.each([
    ['a header length beyond the file', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(BigInt(good.length)); return b; })(), /header length/],
    ['a header length of 2^64 - 1', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(2n ** 64n - 1n); return b; })(), /header length/],
    ['a header that is not JSON', (() => { const b = Buffer.from(good); b[8] = 0x7e; return b; })(), /does not parse/],
    ['an unknown dtype', tensor((h) => { h.t.dtype = 'F31'; }), /dtype of tensor 't'.*"F31"/],
    ['a negative dimension', tensor((h) => { h.t.shape = [-3]; }), /shape of tensor 't'/],
    ['a shape whose size overflows', tensor((h) => { h.t.shape = [2 ** 40, 2 ** 40]; }), /needs .* bytes/],
    ['a size that does not match the shape', tensor((h) => { h.t.shape = [2]; }), /needs 8 bytes.*span 12/],
    ['offsets past the end', tensor((h) => { h.t.data_offsets = [4, 16]; }), /ends at byte 16.*12/],
    ['offsets reversed', tensor((h) => { h.t.data_offsets = [12, 0]; }), /data_offsets/],
    ['overlapping tensors', tensor((h) => { h.u = { dtype: 'F32', shape: [2], data_offsets: [4, 12] }; }), /overlaps/],
    ['a hole', tensor((h) => { h.t = { dtype: 'F32', shape: [2], data_offsets: [4, 12] }; }), /hole/],
    ['bytes after the last tensor', tensor((h) => { h.t.data_offsets = [0, 12]; }, f32([1, 2, 3, 4])), /cover 12 bytes.*16/],
    ['metadata that is not strings', tensor((h) => { h.__metadata__ = { a: 1 }; }), /__metadata__/],
  ])('%s', async (_, bytes, message) => {
    await expectRefused(MODELS.rnn_relu(), tempFile(bytes as Buffer), { from: 'pytorch' }, 'FORMAT', message as RegExp);
  });

  test('the header is checked against the file size before the data is read (maxBytes covers only the header)', async () => {
    const headerEnd = 8 + Number(good.readBigUInt64LE(0));
    const budget = 4 + headerEnd;   // the pickle-magic probe, then the length and the header
    const forged = Buffer.from(good);
    forged.write('"F31"', good.indexOf('"F32"'), 'latin1');
    await expectRefused(MODELS.rnn_relu(), tempFile(forged), { from: 'pytorch', maxBytes: budget }, 'FORMAT', /"F31"/);
    await expectRefused(MODELS.rnn_relu(), tempFile(good), { from: 'pytorch', maxBytes: budget }, 'MEMORY', /more of its .* bytes are needed/);
  });

  test('every truncation of a fixture is a FORMAT error', async () => {
    for (let length = 0; length < good.length; length++) {
      expect(() => parseSafetensors(good.subarray(0, length), 'cut')).toThrow(expect.objectContaining({ code: 'FORMAT' }));
    }
    await expectRefused(MODELS.rnn_relu(), tempFile(good.subarray(0, good.length - 1)), { from: 'pytorch' }, 'FORMAT', /truncated/);
  });

  test('random corruption of the header never reads outside the file: it parses and decodes, or it is an RnnError', () => {
    const random = new rk.Random(16);
    const headerEnd = 8 + Number(good.readBigUInt64LE(0));
    let refused = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const bytes = Buffer.from(good);
      for (let k = 0; k < 3; k++) bytes[random.integer(headerEnd)] = 32 + random.integer(95);
      try {
        const file = parseSafetensors(bytes, 'corrupt');
        for (const entry of file.tensors) {
          expect(entry.begin).toBeGreaterThanOrEqual(headerEnd);
          expect(entry.end).toBeLessThanOrEqual(bytes.length);
          try { decodeTensor(file, entry, 'corrupt'); } catch (error) { expect((error as rk.RnnError).code).toBe('DTYPE'); }
        }
      } catch (error) {
        expect(error).toBeInstanceOf(rk.RnnError);
        expect((error as rk.RnnError).code).toBe('FORMAT');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  test('a known dtype rnnkit does not decode (I64) is a DTYPE error naming the tensor', async () => {
    const ints = safetensorsBytes([{ name: 'fc.weight', dtype: 'I64', shape: [3, 4], data: Buffer.alloc(96) }, ...fixtureTensors('rnn_relu', (t) => (t === 'fc.weight' ? undefined : t))]);
    await expectRefused(MODELS.rnn_relu(), tempFile(ints), { from: 'pytorch' }, 'DTYPE', /'fc\.weight'.*F32, F16, BF16.*I64/);
  });
});

describe('F16 and BF16 decode exactly', () => {
  test('binary16 values', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x8000].map(halfToFloat))
      .toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125, -0]);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
  test('bfloat16 is the upper half of a float32', () => {
    const values = [1, -2.5, 3.140625, 1e-38, -65536];
    const words = Buffer.alloc(2 * values.length);
    values.forEach((v, i) => words.writeUInt16LE(Buffer.from(Float32Array.of(v).buffer).readUInt16LE(2), 2 * i));
    const file = parseSafetensors(safetensorsBytes([{ name: 'b', dtype: 'BF16', shape: [5], data: words }]), 'bf16');
    const expected = values.map((v) => { const b = Buffer.from(Float32Array.of(v).buffer); b.writeUInt16LE(0, 0); return b.readFloatLE(0); });
    expect(Array.from(decodeTensor(file, file.tensors[0], 'bf16'))).toEqual(expected);
  });
});

describe('docs/interchange.md', () => {
  // The `js run` blocks run as a reader would run them (against dist/, as readme.test.ts does), next to a
  // state.safetensors that PyTorch wrote for the Python block's model (the lstm_classifier fixture: same modules).
  const markdown = readFileSync(join(__dirname, '..', 'docs', 'interchange.md'), 'utf8');
  const blocks = [...markdown.matchAll(/^```js run\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  test('has a runnable example, and it runs', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    const project = mkdtempSync(join(root, 'docs-'));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(join(__dirname, '..'), join(project, 'node_modules', 'rnnkit'), 'dir');
    copyFileSync(fixture('lstm_classifier'), join(project, 'state.safetensors'));
    blocks.forEach((code, i) => {
      writeFileSync(join(project, `block-${i}.mjs`), code);
      const run = spawnSync(process.execPath, [`block-${i}.mjs`], { cwd: project, encoding: 'utf8', timeout: 60_000 });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.stdout).toMatch(/lstm <- lstm\.weight_ih_l0/);
    });
  });
});
