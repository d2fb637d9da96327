#!/usr/bin/env node
'use strict';
/**
 * Many concurrent streams of speech through rk.streams: spoken digits arrive frame by frame (log-mel, 24 bands,
 * 32 frames per word; the speech demo's data, examples/data/speech-domains.js) and every stream's recogniser answers
 * after each frame, as the word is being spoken.
 *
 * 1. Trains an LSTM word recogniser on the digits "zero".."nine" (14 voice variants x 8 accents), with the word as
 *    the target at every frame, so it answers as early as the frames heard allow.
 * 2. Plays the clips of 2 held-out voice variants to N concurrent streams (N = 1, 8, 64, 256, ...): each stream sends
 *    one frame, awaits the model's output (class probabilities after the frames heard so far), sends the next frame;
 *    after a word it resets its state and starts the next one. The pool runs the frames of all waiting streams as
 *    one native call. Printed per N: frames/s, step latency p50/p99, native calls and mean batch; for comparison
 *    the same frames awaited one by one (up to 64 streams).
 * 3. Prints how early the words are recognised: streaming accuracy after 8, 16, 24 and 32 frames, and checks the
 *    streamed answer at every frame against model.predict on the whole clips (they must agree).
 *
 * Usage:  node examples/streams.js [--quick | --smoke] [--threads n]
 *   --quick: up to 256 streams, 4 words each (seconds once the clips are cached);
 *   default: up to 1,024 streams, 8 words each, one by one up to 64 (under a minute). LSTM 64, 30 epochs in both.
 * Needs espeak-ng and sox (apt-get install espeak-ng sox); the first run synthesises 1,280 clips (about two minutes
 * on 2 cores) and caches their features in examples/generated/, shared with examples/speech-transfer.js.
 * Run `npm run build` first: the example loads the package the way a user would.
 */
const rk = require('..');
const { loadClipSets, sourceDigitClips, splitSourceByVoice, clipList, selectClips, DIGITS, FRAMES } = require('./data/speech-domains');

const SIZES = {
  quick: { units: 64, epochs: 30, streams: [1, 8, 64, 256], wordsPerStream: 4, oneByOneUpTo: 8 },
  full: { units: 64, epochs: 30, streams: [1, 8, 64, 256, 1024], wordsPerStream: 8, oneByOneUpTo: 64 },
  // For the test suite: 30 clips of one accent (two voices to train on, one to play), every step in a few seconds.
  smoke: { units: 16, epochs: 10, streams: [1, 8], wordsPerStream: 2, oneByOneUpTo: 8, smoke: true },
};
const BANDS = 24;
const CHECKPOINTS = [8, 16, 24, 32];

function parseArgs(argv) {
  const name = ['quick', 'smoke'].find((n) => argv.includes(`--${n}`)) || 'full';
  const i = argv.indexOf('--threads');
  const threads = i >= 0 ? Number(argv[i + 1]) : undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new Error(`Expected --threads to be a positive integer but received ${argv[i + 1]}`);
  return { size: { name, ...SIZES[name] }, threads };
}

/** The speech demo's digit clips split by voice; --smoke: 'm1' and 'f1' to train on, 'linda' to play (accent 'en'). */
async function loadDigits(size) {
  const log = (line) => console.log(line);
  if (!size.smoke) return splitSourceByVoice((await loadClipSets({ source: sourceDigitClips() }, log)).source);
  const { source } = await loadClipSets({ source: clipList(DIGITS, ['m1', 'f1', 'linda'], { accents: ['en'] }) }, log);
  return { train: selectClips(source, (c) => c.variant !== 'linda'), test: selectClips(source, (c) => c.variant === 'linda') };
}

async function trainRecogniser(train, size, seconds) {
  rk.setSeed(2024);
  // [null, 24]: any number of frames, so the same model runs a clip, a prefix or one frame. The word is the target
  // at every frame (returnSequences), so the recogniser learns to answer as early as the frames heard allow.
  const model = rk.sequential({ name: 'digits', layers: [
    rk.layers.lstm({ units: size.units, returnSequences: true, inputShape: [null, BANDS] }),
    rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 10, activation: 'softmax' }) }),
  ] });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const perFrame = new rk.Tensor(Float32Array.from({ length: train.y.size * FRAMES }, (_, i) => train.y.data[Math.floor(i / FRAMES)]), [train.y.size, FRAMES]);
  await model.fit(train.x, perFrame, {
    epochs: size.epochs, batchSize: 32, verbose: 0, seed: 1,
    callbacks: [{ onEpochEnd: (epoch, logs) => {
      if ((epoch + 1) % Math.max(1, Math.floor(size.epochs / 4)) === 0) console.log(`  epoch ${epoch + 1}/${size.epochs}: loss ${logs.loss.toFixed(3)}, accuracy ${logs.accuracy.toFixed(3)} (${seconds()} s)`);
    } }],
  });
  return model;
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Plays `wordsPerStream` test clips to each of `streams` streams, frame by frame. `oneByOne`: every frame of every
 * stream awaited in turn (no two steps ever share a native call). Returns the rate, the pool's stats and, per played
 * clip, its label and the argmax after every frame.
 */
async function play(model, test, streams, wordsPerStream, oneByOne) {
  const pool = rk.streams(model, { maxBatch: 1024 });
  const clips = test.x.shape[0];
  const frameOf = (clip, t) => test.x.data.subarray((clip * FRAMES + t) * BANDS, (clip * FRAMES + t + 1) * BANDS);
  const heard = [];
  const started = process.hrtime.bigint();
  if (oneByOne) {
    for (let w = 0; w < wordsPerStream; w++) {
      for (let t = 0; t < FRAMES; t++) for (let s = 0; s < streams; s++) await pool.step(s, frameOf((s * wordsPerStream + w) % clips, t));
      for (let s = 0; s < streams; s++) await pool.reset(s);
    }
  } else {
    await Promise.all(Array.from({ length: streams }, async (_, s) => {
      for (let w = 0; w < wordsPerStream; w++) {
        const clip = (s * wordsPerStream + w) % clips;
        const guesses = new Int32Array(FRAMES);
        const probs = new Float32Array(FRAMES * 10);
        for (let t = 0; t < FRAMES; t++) {
          const out = (await pool.step(s, frameOf(clip, t))).data;
          probs.set(out, t * 10);
          guesses[t] = argmax(out);
        }
        heard.push({ clip, label: test.y.data[clip], guesses, probs });
        await pool.reset(s); // the next word starts from a zero state, as the classifier was trained
      }
    }));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const stats = pool.stats();
  await pool.close();
  return { rate: (streams * wordsPerStream * FRAMES) / seconds, heard, ...stats };
}

async function main() {
  const { size, threads } = parseArgs(process.argv.slice(2));
  if (threads) rk.setThreads(threads);
  const t0 = Date.now();
  const seconds = () => ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`rnnkit streaming speech (${size.name}): spoken digits frame by frame, LSTM ${size.units}, threads ${rk.getThreads()}, backend ${rk.backendInfo().simd}`);
  console.log('Synthesising (or loading cached) clips with espeak-ng + sox ...');
  const { train, test } = await loadDigits(size);
  console.log(`Data: ${train.x.shape[0]} training clips, ${test.x.shape[0]} clips by held-out voice variants; ${FRAMES} frames of ${BANDS} bands per word (${seconds()} s)`);
  console.log(`Training the recogniser (${size.epochs} epochs) ...`);
  const model = await trainRecogniser(train, size, seconds);

  console.log(`\nStreams playing held-out words frame by frame (${size.wordsPerStream} words each, state reset between words):`);
  console.log('streams  mode         frames/s  native calls  mean batch  p50 ms  p99 ms');
  let widest;
  for (const streams of size.streams) {
    for (const oneByOne of [false, true]) {
      if (oneByOne && streams > size.oneByOneUpTo) continue;
      const r = await play(model, test, streams, size.wordsPerStream, oneByOne);
      if (!oneByOne) widest = r;
      console.log(`${String(streams).padStart(7)}  ${(oneByOne ? 'one by one' : 'concurrent').padEnd(11)} ${r.rate.toFixed(0).padStart(9)} ${String(r.batches).padStart(13)} ${r.meanBatch.toFixed(1).padStart(11)} ${r.p50Ms.toFixed(2).padStart(7)} ${r.p99Ms.toFixed(2).padStart(7)}`);
    }
  }

  // How early the words are recognised, over every word the widest run played.
  const accuracyAt = (t) => widest.heard.filter((h) => h.guesses[t - 1] === h.label).length / widest.heard.length;
  console.log(`\nRecognised while spoken (${widest.heard.length} plays of the ${test.x.shape[0]} clips by held-out voices): ` +
    CHECKPOINTS.map((t) => `after ${t} frames ${(100 * accuracyAt(t)).toFixed(1)}%`).join(', '));
  // Frame by frame through the pool must answer as predict on the whole clip does at the same frame.
  const whole = (await model.predict(test.x, { batchSize: 160 })).data;
  const wholeGuess = (clip, t) => argmax(whole.subarray((clip * FRAMES + t) * 10, (clip * FRAMES + t + 1) * 10));
  let disagreements = 0;
  let largest = 0;
  for (const h of widest.heard) {
    for (let t = 0; t < FRAMES; t++) if (wholeGuess(h.clip, t) !== h.guesses[t]) disagreements++;
    for (let k = 0; k < FRAMES * 10; k++) largest = Math.max(largest, Math.abs(h.probs[k] - whole[h.clip * FRAMES * 10 + k]));
  }
  const clips = test.x.shape[0];
  const lastFrame = Array.from({ length: clips }, (_, c) => wholeGuess(c, FRAMES - 1) === test.y.data[c]).filter(Boolean).length / clips;
  console.log(`model.predict on the ${clips} whole clips: ${(100 * lastFrame).toFixed(1)}% right at the last frame; ` +
    `streamed frames whose answer differs from predict on the whole clip: ${disagreements} of ${widest.heard.length * FRAMES} ` +
    `(largest probability difference ${largest.toExponential(1)})`);
  console.log(`Total time ${seconds()} s`);
  if (disagreements > 0 || !(largest < 1e-4)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error.message || error);
  process.exit(1);
});
