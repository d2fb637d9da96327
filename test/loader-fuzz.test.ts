/**
 * A seeded fuzz test of both loaders (rnnkit files; tfjs model.json + weights.bin): byte flips, truncations, header
 * and manifest fields replaced with huge sizes, wrong types, prototype names and deeply nested JSON, prototype keys,
 * and weights paths that repeat, escape, or name symlinks, FIFOs, directories and devices. Every case must end, within
 * 5 s, either in a model whose predictions are finite or in an RnnError with a loader code (FORMAT, IO, MEMORY): no
 * crash, no hang, no untyped exception. The seed is fixed, so a failure names a case that reproduces.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as rk from '../lib';
import { Random } from '../lib/random';

const SEED = 20261202;
const root = mkdtempSync(join(tmpdir(), 'rnnkit-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const LOADER_CODES = ['FORMAT', 'IO', 'MEMORY'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values a forged field may hold instead of the real one. */
function oddValue(rng: Random): Json {
  const choices: Array<() => Json> = [
    () => 1e9, () => 2 ** 31, () => 2 ** 32, () => 2 ** 53, () => 1e308, () => -1, () => 0, () => 0.5, () => null,
    () => 'toString', () => 'constructor', () => '__proto__', () => 'x'.repeat(1000), () => [], () => ({}), () => true,
    () => [2 ** 31, 2 ** 31], () => [1e9, 1e9, 1e9], () => nested(1 + rng.integer(3000)),
    () => ({ className: 'Dense', config: { units: 1e10 } }), () => ['../secret.bin'], () => '/etc/passwd',
  ];
  return choices[rng.integer(choices.length)]();
}
function nested(depth: number): Json {
  let value: Json = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Every [parent, key] of a JSON tree (objects and arrays), for picking a field to forge. */
function slots(value: Json, out: Array<[Json[] | { [key: string]: Json }, string | number]> = []) {
  if (Array.isArray(value)) value.forEach((v, i) => { out.push([value, i]); slots(v, out); });
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) { out.push([value, k]); slots(v, out); }
  return out;
}

/** A copy of `json` with one field replaced, or (one case in six) an own '__proto__'/'constructor' key added. */
function forge(json: Json, rng: Random): Json {
  const copy = JSON.parse(JSON.stringify(json)) as Json;
  const all = slots(copy);
  const [parent, key] = all[rng.integer(all.length)];
  if (rng.integer(6) === 0 && !Array.isArray(parent)) {
    const name = ['__proto__', 'constructor', 'prototype'][rng.integer(3)];
    Object.defineProperty(parent, name, { value: { polluted: true }, enumerable: true });
  } else {
    (parent as Record<string | number, Json>)[key] = oddValue(rng);
  }
  return copy;
}

function flipBytes(bytes: Uint8Array, rng: Random, count: number, within = bytes.length): Buffer {
  const copy = Buffer.from(bytes);
  for (let i = 0; i < count; i++) copy[rng.integer(Math.min(within, copy.length))] ^= 1 << rng.integer(8);
  return copy;
}

interface Outcome { label: string; result: string }

/** Loads `target` and classifies the outcome; a model must predict finite values. */
async function attempt(label: string, target: string, input: rk.Tensor): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('hang'), 5000); });
  const run = (async () => {
    try {
      const model = (await rk.loadModel(target)) as rk.Sequential;
      const out = await model.predict(input);
      model.dispose();
      return out.data.every(Number.isFinite) ? 'loaded' : 'loaded-non-finite';
    } catch (error) {
      if (error instanceof rk.RnnError) return LOADER_CODES.includes(error.code) ? `refused ${error.code}` : `unexpected code ${error.code}: ${error.message}`;
      return `untyped ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`;
    }
  })();
  const result = await Promise.race([run, hang]);
  clearTimeout(timer);
  return { label, result };
}

function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { result } of outcomes) {
    const key = /^(loaded|refused \w+)$/.test(result) ? result : 'BAD';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function savedModel(): Promise<{ model: rk.Sequential; input: rk.Tensor }> {
  rk.setSeed(SEED);
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 4, inputShape: [3, 2], returnSequences: true, name: 'l' }));
  model.add(rk.layers.gru({ units: 3, resetAfter: false, name: 'g' }));
  model.add(rk.layers.dense({ units: 2, activation: 'softmax', name: 'd' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const input = rk.tensor(new Float32Array(12).map((_, i) => Math.sin(i)), [2, 3, 2]);
  await model.trainOnBatch(input, rk.tensor([[1, 0], [0, 1]]));
  return { model, input };
}

test('rnnkit files: flips, truncations, forged headers and deep JSON end in a model or a loader RnnError', async () => {
  const rng = new Random(SEED);
  const { model, input } = await savedModel();
  const original = join(root, 'original.rnnkit');
  await model.save(original, { includeOptimizer: true });
  const bytes = readFileSync(original);
  const headerLength = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.subarray(16, 16 + headerLength).toString('utf8')) as Json;
  const data = bytes.subarray(Math.ceil((16 + headerLength) / 8) * 8);
  const withHeader = (text: string) => {
    const json = Buffer.from(text, 'utf8');
    const preamble = Buffer.from(bytes.subarray(0, 16));
    preamble.writeUInt32LE(json.length, 12);
    const padding = Buffer.alloc(Math.ceil((16 + json.length) / 8) * 8 - 16 - json.length);
    return Buffer.concat([preamble, json, padding, data]);
  };
  const target = join(root, 'case.rnnkit');
  const outcomes: Outcome[] = [];
  const run = async (label: string, content: Uint8Array) => {
    writeFileSync(target, content);
    outcomes.push(await attempt(label, target, input));
  };
  for (let i = 0; i < 300; i++) await run(`header flip ${i}`, flipBytes(bytes, rng, 1 + rng.integer(4), 16 + headerLength));
  for (let i = 0; i < 200; i++) await run(`flip ${i}`, flipBytes(bytes, rng, 1 + rng.integer(8)));
  for (let i = 0; i < 150; i++) await run(`truncation ${i}`, bytes.subarray(0, rng.integer(bytes.length)));
  for (let i = 0; i < 600; i++) await run(`forged field ${i}`, withHeader(JSON.stringify(forge(header, rng))));
  await run('deep JSON header', withHeader('['.repeat(200_000) + ']'.repeat(200_000)));
  await run('huge header length', Buffer.concat([bytes.subarray(0, 12), Buffer.from([0xff, 0xff, 0xff, 0x7f]), bytes.subarray(16)]));
  const bad = outcomes.filter((o) => !/^(loaded|refused (FORMAT|IO|MEMORY))$/.test(o.result));
  expect(bad).toEqual([]);
  const counts = tally(outcomes);
  expect(counts.loaded).toBeGreaterThan(0);  // some flips land in weights and stay loadable: the fuzz reaches the end
  console.log(`rnnkit loader fuzz (seed ${SEED}): ${outcomes.length} cases ${JSON.stringify(counts)}`);
}, 60_000);

test('tfjs models: forged model.json, flipped or cut weights.bin and hostile paths end in a model or a loader RnnError', async () => {
  const rng = new Random(SEED + 1);
  const { model, input } = await savedModel();
  const source = join(root, 'tfjs-original');
  await model.save(source, { format: 'tfjs' });
  const json = JSON.parse(readFileSync(join(source, 'model.json'), 'utf8')) as Json;
  const weights = readFileSync(join(source, 'weights.bin'));
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.bin'), weights);
  const outcomes: Outcome[] = [];
  let n = 0;
  const run = async (label: string, modelJson: string | Buffer, weightBytes: Uint8Array = weights, prepare?: (dir: string) => void) => {
    const dir = join(root, `tfjs-case-${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), modelJson);
    writeFileSync(join(dir, 'weights.bin'), weightBytes);
    prepare?.(dir);
    outcomes.push(await attempt(label, dir, input));
    rmSync(dir, { recursive: true, force: true });
  };
  const text = JSON.stringify(json);
  const withPaths = (paths: Json[]) => {
    const copy = JSON.parse(text);
    copy.weightsManifest[0].paths = paths;
    return JSON.stringify(copy);
  };
  for (let i = 0; i < 250; i++) await run(`json flip ${i}`, flipBytes(Buffer.from(text), rng, 1 + rng.integer(3)));
  for (let i = 0; i < 500; i++) await run(`forged field ${i}`, JSON.stringify(forge(json, rng)));
  for (let i = 0; i < 120; i++) await run(`weights flip ${i}`, text, flipBytes(weights, rng, 1 + rng.integer(6)));
  for (let i = 0; i < 80; i++) await run(`weights truncation ${i}`, text, weights.subarray(0, rng.integer(weights.length)));
  await run('deep JSON', '{"a":' + '['.repeat(200_000) + ']'.repeat(200_000) + '}');
  const hostile: Array<[string, Json[], ((dir: string) => void)?]> = [
    ['repeated path x3000', Array.from({ length: 3000 }, () => './weights.bin')],
    ['repeated via other spelling', ['./weights.bin', 'weights.bin', './/weights.bin']],
    ['parent escape', ['../outside/secret.bin']],
    ['absolute path', [join(outside, 'secret.bin')]],
    ['file URL', ['file:///etc/passwd']],
    ['model.json as weights', ['./model.json']],
    ['a directory', ['./sub'], (dir) => mkdirSync(join(dir, 'sub'))],
    ['a FIFO', ['./pipe.bin'], (dir) => execFileSync('mkfifo', [join(dir, 'pipe.bin')])],
    ['a device via symlink', ['./zero.bin'], (dir) => symlinkSync('/dev/zero', join(dir, 'zero.bin'))],
    ['symlink outside', ['./link.bin'], (dir) => symlinkSync(join(outside, 'secret.bin'), join(dir, 'link.bin'))],
    ['symlinked folder outside', ['./sub/secret.bin'], (dir) => symlinkSync(outside, join(dir, 'sub'))],
    ['dangling symlink', ['./gone.bin'], (dir) => symlinkSync(join(dir, 'nowhere'), join(dir, 'gone.bin'))],
    ['symlink loop', ['./loop.bin'], (dir) => symlinkSync(join(dir, 'loop.bin'), join(dir, 'loop.bin'))],
    ['empty paths', []],
  ];
  for (const [label, paths, prepare] of hostile) await run(label, withPaths(paths), weights, prepare);
  const bad = outcomes.filter((o) => !/^(loaded|refused (FORMAT|IO|MEMORY))$/.test(o.result));
  expect(bad).toEqual([]);
  // None of the hostile path cases may load: each reads something it must not, or nothing.
  const hostileLoaded = outcomes.slice(-hostile.length).filter((o) => o.result === 'loaded').map((o) => o.label);
  expect(hostileLoaded).toEqual([]);
  const counts = tally(outcomes);
  expect(counts.loaded).toBeGreaterThan(0);
  console.log(`tfjs loader fuzz (seed ${SEED + 1}): ${outcomes.length} cases ${JSON.stringify(counts)}`);
}, 90_000);
