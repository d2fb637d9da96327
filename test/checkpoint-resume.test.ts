/**
 * Checkpoints resume exactly: a real child process trains with modelCheckpoint(path, { includeOptimizer: true }), is
 * killed with SIGKILL in the middle of epoch 3, and a second process loads the newest checkpoint and fits on with
 * initialEpoch; its final weights equal, bit for bit, those of a run that was never interrupted (seeded; with and
 * without shuffle, with dropout and recurrent dropout: each epoch's shuffle and dropout seeds come from the fit seed
 * and the epoch alone). Before: modelCheckpoint had no includeOptimizer, saves from callbacks dropped the option,
 * and an aborted epoch was reported complete, so the resumed run's first loss was 2-8x off and weights differed.
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { expectRnnError } from './helpers/checks';

const child = join(__dirname, 'helpers', 'checkpoint-child.js');
const cacheDir = join(tmpdir(), 'rnnkit-ts-cache');
const root = mkdtempSync(join(tmpdir(), 'rnnkit-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runToEnd(dir: string, shuffle: string, mode: 'full' | 'resume'): number[][] {
  const run = spawnSync(process.execPath, [child, cacheDir, dir, shuffle, mode], { encoding: 'utf8', timeout: 60_000 });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8'));
}

/** Starts a 'crash' child and SIGKILLs it once it reports being inside epoch 3. */
function crashMidEpoch(dir: string, shuffle: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, cacheDir, dir, shuffle, 'crash'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (chunk) => { stderr += chunk; });
    proc.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('kill me')) proc.kill('SIGKILL'); });
    proc.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child was not killed: ${stderr}`))));
  });
}

test.each([['shuffle: false', '0'], ['shuffle: true', '1']])('killed mid-fit and resumed with %s: bit-for-bit the uninterrupted weights', async (_name, shuffle) => {
  const full = join(root, `full-${shuffle}`);
  const crashed = join(root, `crashed-${shuffle}`);
  mkdirSync(full);
  mkdirSync(crashed);
  const uninterrupted = runToEnd(full, shuffle, 'full');
  await crashMidEpoch(crashed, shuffle);
  // Epochs 0-2 completed (checkpoints 1-3); epoch 3 was cut at batch 4 and must not have been checkpointed.
  expect([1, 2, 3, 4].map((k) => existsSync(join(crashed, `ckpt-${k}.rnnkit`)))).toEqual([true, true, true, false]);
  const resumed = runToEnd(crashed, shuffle, 'resume');
  expect(resumed).toEqual(uninterrupted);
});

test('a save from a callback honours includeOptimizer, and refuses what it cannot honour', async () => {
  const model = rk.sequential();
  model.add(rk.layers.dense({ units: 2, inputShape: [2], activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const file = join(root, 'from-callback.rnnkit');
  const x = rk.tensor([[1, 0], [0, 1]]), y = rk.tensor([[1, 0], [0, 1]]);
  let refused: unknown;
  let view: rk.CallbackModel | undefined;
  await model.fit(x, y, {
    epochs: 1, verbose: 0,
    callbacks: [{
      setModel: (m: rk.CallbackModel) => { view = m; },
      onEpochEnd: async () => {
        await view!.save!(file, { includeOptimizer: true });
        await view!.save!(join(root, 'tfjs-from-callback'), { format: 'tfjs', includeOptimizer: true }).catch((e: unknown) => { refused = e; });
      },
    }],
  });
  await expectRnnError(() => { throw refused; }, 'ARGUMENT', /Expected includeOptimizer false for format 'tfjs'/);
  const loaded = await rk.loadModel(file);
  const state = loaded.requireNetwork().getOptimizerState();
  expect(state.step).toBe(1);
  expect(state.slots.map((s) => Array.from(s))).toEqual(model.requireNetwork().getOptimizerState().slots.map((s) => Array.from(s)));
  await expectRnnError(() => rk.callbacks.modelCheckpoint(file, { includeOptimizer: 'yes' as never }), 'ARGUMENT', /includeOptimizer/);
});
