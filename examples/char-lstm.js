#!/usr/bin/env node
'use strict';
/**
 * A character-level LSTM text generator trained on the quotations of the Debian `fortunes` package, then sampled
 * for many streams at once through the stream pool.
 *
 * Training: an ordinary (non-stateful) model on windows of 40 characters cut at random offsets: character ids
 * [40] into an embedding, an LSTM, predicting the next character at every position (returnSequences + a softmax
 * head: forty targets per window instead of Keras's one, for the same LSTM cost). Each round draws fresh windows,
 * so memory stays small.
 *
 * Generation: `rk.streams(model)` runs the trained model with a recurrent state per stream (the same weights; a
 * window length is not needed: a chunk has its own length; a step is one character id, a chunk an array of ids).
 * Every stream is primed with the first characters of a
 * real fortune, then draws one character at a time with `rk.sample(probs, { temperature, topK, topP, random })` and
 * feeds it back; the steps of all streams that are waiting run as one native call. Printed: a few samples per
 * temperature and the generation rate (characters/s) alone and with all streams.
 *
 * Usage:  node examples/char-lstm.js [--quick | --smoke] [--corpus <file or directory>] [--streams N]
 *   default  LSTM 192, a few minutes on 2 cores; --quick  LSTM 128, under a minute (text-like only in places).
 * Needs `apt-get install fortunes` for the default corpus (nothing is downloaded). Run `npm run build` first.
 */
const rk = require('..');
const { loadCorpus, vocabulary, windows, charIds } = require('./data/char-corpus');

const SIZES = {
  quick: { embed: 32, units: 128, rounds: 48, windowsPerRound: 1024, batchSize: 32, streams: 64, generate: 120 },
  // For the test suite: every step of the example in a few seconds (the output is not text-like).
  smoke: { embed: 8, units: 16, rounds: 2, windowsPerRound: 64, batchSize: 32, streams: 6, generate: 8 },
  full: { embed: 32, units: 192, rounds: 96, windowsPerRound: 2048, batchSize: 32, streams: 256, generate: 200 },
};
const STEPS = 40;
const PRIME = 12;
const TEMPERATURES = [0.5, 0.8, 1.0];

function parseArgs(argv) {
  const value = (flag) => { const i = argv.indexOf(flag); return i >= 0 ? argv[i + 1] : undefined; };
  const name = ['quick', 'smoke'].find((n) => argv.includes(`--${n}`)) || 'full';
  const size = { name, ...SIZES[name] };
  if (value('--streams')) size.streams = Number(value('--streams'));
  if (!(Number.isInteger(size.streams) && size.streams >= 1)) throw new Error(`Expected --streams to be a positive integer but received ${value('--streams')}`);
  return { size, corpus: value('--corpus') };
}

async function train(text, vocab, size, seconds) {
  rk.setSeed(2024);
  const V = vocab.chars.length;
  const model = rk.sequential({ name: 'chars', layers: [
    rk.layers.embedding({ inputDim: V, outputDim: size.embed, inputShape: [null] }),
    rk.layers.lstm({ units: size.units, returnSequences: true }),
    rk.layers.timeDistributed({ layer: rk.layers.dense({ units: V, activation: 'softmax' }) }),
  ] });
  model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.003 }), loss: 'sparseCategoricalCrossentropy' });
  const rng = new rk.Random(7);
  const heldOut = windows(text, vocab, 256, STEPS, new rk.Random(99));
  for (let round = 1; round <= size.rounds; round++) {
    const { x, y } = windows(text, vocab, size.windowsPerRound, STEPS, rng);
    const history = await model.fit(x, y, { epochs: 1, batchSize: size.batchSize, verbose: 0, seed: round });
    if (round % Math.max(1, Math.floor(size.rounds / 8)) === 0 || round === size.rounds) {
      const test = await model.evaluate(heldOut.x, heldOut.y, { batchSize: 256 });
      console.log(`  round ${String(round).padStart(2)}/${size.rounds}: train loss ${history.history.loss[0].toFixed(3)}, held-out loss ${test.loss.toFixed(3)} ` +
        `(${(test.loss / Math.LN2).toFixed(2)} bits/char), ${round * size.windowsPerRound} windows (${seconds()} s)`);
    }
  }
  return model;
}

/** Generates `length` characters for each of `count` streams at once; resolves to the texts and the timing. */
async function generate(model, text, vocab, count, length, seed) {
  const pool = rk.streams(model, { maxBatch: 1024 });
  const rng = new rk.Random(seed);
  // Prime each stream with the start of a fortune (the text after a blank line).
  const starts = [];
  for (let at = text.indexOf('\n\n'); at >= 0 && at < text.length - PRIME - 2; at = text.indexOf('\n\n', at + 2)) starts.push(at + 2);
  const started = process.hrtime.bigint();
  const samples = await Promise.all(Array.from({ length: count }, async (_, s) => {
    const prime = text.slice(starts[rng.integer(starts.length)], undefined).slice(0, PRIME);
    const temperature = TEMPERATURES[s % TEMPERATURES.length];
    let out = await pool.step(s, charIds(prime, vocab));
    let generated = '';
    for (let i = 0; i < length; i++) {
      // The output after a chunk is [t, V]; the last row is the distribution of the next character.
      const probs = out.data.subarray(out.data.length - vocab.chars.length);
      const c = vocab.chars[rk.sample(probs, { temperature, topP: 0.95, random: () => rng.uniform() })];
      generated += c;
      out = await pool.step(s, vocab.index.get(c));
    }
    return { prime, temperature, generated };
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const stats = pool.stats();
  await pool.close();
  return { samples, rate: (count * length) / seconds, seconds, ...stats };
}

async function main() {
  const { size, corpus } = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const seconds = () => ((Date.now() - t0) / 1000).toFixed(1);
  const { text, files } = loadCorpus(corpus);
  const vocab = vocabulary(text);
  console.log(`rnnkit char-LSTM (${size.name}): ${text.length.toLocaleString('en-US')} characters from ${files.length} file(s) ` +
    `(${corpus || 'fortunes'}), vocabulary ${vocab.chars.length}, embedding ${size.embed}, LSTM ${size.units}, threads ${rk.getThreads()}, backend ${rk.backendInfo().simd}`);
  console.log(`Training on ${size.rounds} rounds of ${size.windowsPerRound} random ${STEPS}-character windows ...`);
  const model = await train(text, vocab, size, seconds);

  const alone = await generate(model, text, vocab, 1, size.generate, 1);
  const many = await generate(model, text, vocab, size.streams, size.generate, 2);
  console.log(`\nSamples (${size.streams} streams, ${size.generate} characters each after a ${PRIME}-character prime from the corpus; top-p 0.95):`);
  for (const temperature of TEMPERATURES) {
    many.samples.filter((s) => s.temperature === temperature).slice(0, 2).forEach((s) => {
      console.log(`--- temperature ${temperature}: [${s.prime}]${s.generated}`.replace(/\n/g, '\n    '));
    });
  }
  console.log('\nGeneration through rk.streams (every step awaited, then sampled in JS):');
  console.log('streams  chars/s  native calls  mean batch  p50 ms  p99 ms');
  for (const [n, r] of [[1, alone], [size.streams, many]]) {
    console.log(`${String(n).padStart(7)} ${r.rate.toFixed(0).padStart(8)} ${String(r.batches).padStart(13)} ${r.meanBatch.toFixed(1).padStart(11)} ${r.p50Ms.toFixed(2).padStart(7)} ${r.p99Ms.toFixed(2).padStart(7)}`);
  }
  console.log(`Total time ${seconds()} s`);
}

main().catch((error) => {
  console.error(error.message || error);
  process.exit(1);
});
