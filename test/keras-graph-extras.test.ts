/**
 * Keras graphs beyond plain layers: Keras 2 call keywords on inbound nodes (initial_state as a keyword, training=False)
 * and nested models (a Functional or Sequential used as a layer, inlined as rnnkit inlines nested models), against
 * the fixtures of scripts/fixtures/keras_extra_fixtures.py (outputs from numpy, to 1e-5); keywords rnnkit cannot
 * honour are refused by name and path.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as rk from '../lib';
import { readHdf5 } from '../lib/io/keras/hdf5';
import { fromKerasFunctional } from '../lib/io/keras/keras_graph';
import { maxAbsDiff } from './helpers/checks';

const DIR = path.join(__dirname, 'fixtures', 'keras');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected_extra.json'), 'utf8'));
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-keras-extras-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function expectReference(model: rk.Model, c: { inputs: unknown[]; outputs: number[][][] }): Promise<void> {
  const inputs = c.inputs.map((x) => rk.tensor(x as never));
  const out = await model.predict((inputs.length === 1 ? inputs[0] : inputs) as never);
  const ys = Array.isArray(out) ? out : [out];
  ys.forEach((y, k) => expect(maxAbsDiff(y.data, c.outputs[k].flat())).toBeLessThan(1e-5));
}

/** The model_config of a Keras 2 .h5 fixture, as JSON. */
async function modelConfigOf(file: string): Promise<any> {
  return readHdf5(fs.readFileSync(path.join(DIR, file)), file, (root) => JSON.parse(String(root.attrs.model_config.value)));
}

describe('Keras 2 call keywords (kwargs.h5)', () => {
  test('initial_state given as a keyword and training=False load and predict as numpy', async () => {
    const model = await rk.loadModel(path.join(DIR, 'kwargs.h5'));
    expect(model.layers.map((l) => l.name)).toEqual(['drop', 'enc', 'dec', 'out']);
    await expectReference(model, EXPECTED.kwargs);
    model.dispose();
  });

  const refusals: Array<[string, (c: any) => void, RegExp]> = [
    ['training=True', (c) => { c.config.layers[2].inbound_nodes[0][0][3] = { training: true }; }, /config\.layers\[2\]\.inbound_nodes\[0\]\[0\]\[3\] has training=True/],
    ['a mask tensor', (c) => { c.config.layers[5].inbound_nodes[0][0][3] = { mask: ['a', 0, 0] }; }, /config\.layers\[5\]\.inbound_nodes\[0\]\[0\]\[3\] has the call argument 'mask'/],
    ['an unknown keyword', (c) => { c.config.layers[3].inbound_nodes[0][0][3] = { constants: 1 }; }, /has the call argument 'constants'/],
    ['keywords that differ between entries', (c) => { c.config.layers[4].inbound_nodes[0].push(['enc', 0, 1, { training: false }]); }, /inbound_nodes\[0\]\[1\]\[3\]/],
  ];
  test.each(refusals)('%s is refused by name and path', async (_name, edit, message) => {
    const config = await modelConfigOf('kwargs.h5');
    expect(() => fromKerasFunctional(config.config, 'kwargs.h5', 'keras2')).not.toThrow();
    edit(config);
    expect(() => fromKerasFunctional(config.config, 'kwargs.h5', 'keras2')).toThrow(expect.objectContaining({ code: 'FORMAT', message: expect.stringMatching(message) }));
  });
});
