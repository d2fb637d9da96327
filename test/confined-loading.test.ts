/**
 * Loading reads only what the model may read, and only as much as it may: files a model lists must be regular files
 * inside its real folder (symlinks resolved), each listed once, within a byte budget; and a model of any size is
 * built with one native build. Before: a symlinked weights.bin loaded another folder's bytes, a FIFO in `paths`
 * hung loadModel (and the event loop) forever, one weights file listed 3,000 times was read 3,000 times, and every
 * layer of a loaded file rebuilt the whole native network (2,000 layers: 42 s).
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { loadNative } from '../lib/native';
import { expectRnnError } from './helpers/checks';

const root = mkdtempSync(join(tmpdir(), 'rnnkit-confined-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A saved tfjs model in a fresh folder; returns the folder. */
async function savedTfjs(): Promise<string> {
  const folder = join(root, `model${counter++}`);
  const model = rk.sequential();
  model.add(rk.layers.dense({ units: 3, inputShape: [2], name: 'd' }));
  await model.save(folder, { format: 'tfjs' });
  return folder;
}
function editManifest(folder: string, paths: string[]): void {
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  json.weightsManifest[0].paths = paths;
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
}

test('a weights.bin symlinked to a file outside the folder is refused, not read', async () => {
  const folder = await savedTfjs();
  const elsewhere = join(root, `elsewhere${counter++}`);
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, 'secret.bin'), readFileSync(join(folder, 'weights.bin')));  // right size, loadable
  rmSync(join(folder, 'weights.bin'));
  symlinkSync(join('..', elsewhere.split('/').pop()!, 'secret.bin'), join(folder, 'weights.bin'));
  await expectRnnError(() => rk.loadModel(folder), 'FORMAT',
    /expected weightsManifest\[0\]\.paths\[0\] to be a file inside the model's folder .* \(symlinks are resolved\) but '.*weights\.bin' resolves to '.*secret\.bin'/);
});

test('a path through a symlinked directory that leaves the folder is refused', async () => {
  const folder = await savedTfjs();
  const elsewhere = join(root, `outside${counter++}`);
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, 'weights.bin'), readFileSync(join(folder, 'weights.bin')));
  symlinkSync(elsewhere, join(folder, 'sub'));
  editManifest(folder, ['./sub/weights.bin']);
  await expectRnnError(() => rk.loadModel(folder), 'FORMAT', /resolves to '.*outside\d+\/weights\.bin'/);
});

test('a symlink that stays inside the folder loads', async () => {
  const folder = await savedTfjs();
  mkdirSync(join(folder, 'data'));
  writeFileSync(join(folder, 'data', 'w.bin'), readFileSync(join(folder, 'weights.bin')));
  rmSync(join(folder, 'weights.bin'));
  symlinkSync(join('data', 'w.bin'), join(folder, 'weights.bin'));
  const model = (await rk.loadModel(folder)) as rk.Sequential;
  expect(model.getWeights().map((w) => w.shape)).toEqual([[2, 3], [3]]);
});

test('a FIFO listed in paths is refused at once instead of blocking forever', async () => {
  const folder = await savedTfjs();
  rmSync(join(folder, 'weights.bin'));
  execFileSync('mkfifo', [join(folder, 'weights.bin')]);
  await expectRnnError(() => rk.loadModel(folder), 'IO', /expected a regular file but it is a FIFO \(named pipe\)/);
}, 10_000);

test('a model file that is a FIFO is refused at once', async () => {
  const fifo = join(root, `model${counter++}.rnnkit`);
  execFileSync('mkfifo', [fifo]);
  await expectRnnError(() => rk.loadModel(fifo), 'IO', /expected a file or a directory/);
}, 10_000);

test('one file listed many times is refused (no amplification)', async () => {
  const folder = await savedTfjs();
  editManifest(folder, Array.from({ length: 3000 }, () => './weights.bin'));
  await expectRnnError(() => rk.loadModel(folder), 'FORMAT', /expected each file to be listed once but weightsManifest\[0\]\.paths\[1\] \('.*weights\.bin'\) repeats/);
  editManifest(folder, ['./weights.bin', 'weights.bin']);
  await expectRnnError(() => rk.loadModel(folder), 'FORMAT', /paths\[1\] \('.*'\) repeats/);
});

test('the byte budget is stated up front and enforced before reading', async () => {
  const folder = await savedTfjs();  // model.json ~1 KB, weights.bin 36 bytes
  const jsonBytes = readFileSync(join(folder, 'model.json')).length;
  await expectRnnError(() => rk.loadModel(folder, { maxBytes: jsonBytes + 35 }), 'MEMORY',
    /holds 36 bytes but only 35 of the load's budget of \d+ bytes are left \(loadModel option maxBytes\)/);
  expect((await rk.loadModel(folder, { maxBytes: jsonBytes + 36 })).getWeights().length).toBe(2);
  await expectRnnError(() => rk.loadModel(folder, { maxBytes: 0 }), 'ARGUMENT', /Expected an integer >= 1 for maxBytes but received 0/);
});

test('a 2,000-layer model loads with one native build, in both formats', async () => {
  const layers = Array.from({ length: 2000 }, (_, i) => rk.layers.dense({ units: 2, name: `d${i}`, ...(i === 0 ? { inputShape: [2] } : {}) }));
  const model = rk.sequential({ layers });
  const file = join(root, 'deep.rnnkit');
  await model.save(file);
  await model.save(join(root, 'deep-tfjs'), { format: 'tfjs' });
  const addon = loadNative();
  const original = addon.Network;
  let builds = 0;
  addon.Network = class extends original {
    constructor(spec: ConstructorParameters<typeof original>[0]) {
      super(spec);
      builds++;
    }
  } as typeof original;
  try {
    const loaded = (await rk.loadModel(file)) as rk.Sequential;
    expect(builds).toBe(1);
    expect(loaded.layers.length).toBe(2000);
    const fromTfjs = (await rk.loadModel(join(root, 'deep-tfjs'))) as rk.Sequential;
    expect(builds).toBe(2);
    const x = rk.tensor([[0.3, -0.7]]);
    expect(Array.from((await fromTfjs.predict(x)).data)).toEqual(Array.from((await model.predict(x)).data));
  } finally {
    addon.Network = original;
  }
});
