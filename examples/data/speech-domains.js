'use strict';
/**
 * Spoken words synthesised with espeak-ng (no download: audio is generated at run time), as log-mel sequences
 * [32 frames, 24 bands]:
 *
 *   domain A: "zero" .. "nine" (labels 0-9)              by the SOURCE voice variants
 *   domain B: yes no up down left right on off stop go    labelled pool: the POOL variants; test: the TEST variants
 *
 * A voice is an English accent (espeak-ng -v) with a voice variant (+m3, +f2, +Alex, ...) and a seeded speed (-s) and
 * pitch (-p). Every accent speaks with every variant, and the three variant lists are disjoint, so the split is by
 * variant: no test voice, and none of its near-duplicate clips, is ever seen in training.
 *
 * Pipeline per clip: espeak-ng --stdout (22.05 kHz wav) | sox: resample to 16 kHz, 16-bit mono, trim leading and
 * trailing silence -> log-mel (./log-mel.js) -> first 32 frames, padded with the silence floor. Features are cached in
 * examples/generated/ (one file per clip list and feature setting), so only the first run synthesises.
 *
 * The pipeline is exported for other word sets (bench/transfer/tasks/speech-lang.js): clipList builds the clips of
 * any words, accents and variants; loadClipSets synthesises or loads them and standardises every set with the
 * statistics of its `source` set; splitSourceByVoice holds out the last source variants.
 */
const { spawn, spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const rk = require('../..');
const { balancedRows } = require('./sampling');
const { DEFAULT_LOG_MEL, logMel, fixFrames } = require('./log-mel');

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const COMMANDS = ['yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go'];
const ACCENTS = ['en', 'en-us', 'en-gb-scotland', 'en-gb-x-gbclan', 'en-gb-x-rp', 'en-gb-x-gbcwmd', 'en-029', 'en-us-nyc'];
/** Voice variants (files in espeak-ng-data/voices/!v), split three ways; each list mixes male and female voices. */
const VARIANTS = {
  source: ['m1', 'm2', 'm3', 'm4', 'f1', 'f2', 'Alex', 'Andy', 'Annie', 'belinda', 'benjamin', 'david', 'edward', 'grandma', 'iven', 'linda'],
  pool: ['m5', 'm6', 'f3', 'john', 'max', 'paul', 'steph', 'travis'],
  test: ['m7', 'm8', 'f4', 'f5', 'robert', 'victor', 'zac', 'michel'],
};
const FRAMES = 32;
/** The last this many source variants are held out to score the source model (by unseen voices, as for B). */
const SOURCE_TEST_VARIANTS = 2;
const CACHE_DIR = path.join(__dirname, '..', 'generated');
const FEATURE_VERSION = 2; // bump when the pipeline changes, so stale caches are not reused

/** Throws an error with install instructions when espeak-ng or sox is missing. */
function requireTools() {
  for (const [tool, flag] of [['espeak-ng', '--version'], ['sox', '--version']]) {
    const result = spawnSync(tool, [flag], { stdio: 'ignore' });
    if (result.error) {
      throw new Error(`The speech data are synthesised with ${tool}, which was not found. ` +
        'Install it with:  sudo apt-get install espeak-ng sox   (Debian/Ubuntu), then run again.');
    }
  }
}

/** Runs a command with `input` on stdin and resolves to its stdout. */
function run(command, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${Buffer.concat(err).toString().trim()}`));
    });
    child.stdin.end(input);
  });
}

/** 16 kHz samples in [-1, 1] of one word spoken by one voice. */
async function synthesise(clip) {
  const wav = await run('espeak-ng', ['-v', `${clip.accent}+${clip.variant}`, '-s', String(clip.speed), '-p', String(clip.pitch), '--stdout', clip.word]);
  // silence 1 0.02 1%: drop audio until 20 ms above 1% of full scale; reversing twice trims the end the same way.
  // -D: no dither when requantising to 16 bits, which is random by default and would make clips differ per run.
  const raw = await run('sox', ['-D', '-t', 'wav', '-', '-r', String(DEFAULT_LOG_MEL.sampleRate), '-c', '1', '-e', 'signed', '-b', '16', '-t', 'raw', '-',
    'silence', '1', '0.02', '1%', 'reverse', 'silence', '1', '0.02', '1%', 'reverse'], wav);
  const ints = new Int16Array(raw.buffer, raw.byteOffset, raw.length >> 1);
  return Float32Array.from(ints, (v) => v / 32768);
}

/**
 * Deterministic speed (words per minute) and pitch (0-99) of a voice: a hash of its name, not Math.random. Take 0 is
 * the voice's own setting; takes 1, 2 ... are further settings of the same voice (the hash of `accent+variant#take`).
 */
function voiceSettings(accent, variant, take = 0) {
  const name = take === 0 ? `${accent}+${variant}` : `${accent}+${variant}#${take}`;
  const digest = crypto.createHash('sha1').update(name).digest();
  return { speed: 145 + (digest[0] % 41), pitch: 35 + (digest[1] % 31) };
}

/**
 * Every (variant, accent, take, word) of the given lists, with its label (the word's index). Options: `accents`
 * (default: the English ACCENTS), `takes` (default 1) speed and pitch settings per voice.
 */
function clipList(words, variants, { accents = ACCENTS, takes = 1 } = {}) {
  const clips = [];
  for (const variant of variants) {
    for (const accent of accents) {
      for (let take = 0; take < takes; take++) {
        const settings = voiceSettings(accent, variant, take);
        words.forEach((word, label) => clips.push({ word, label, accent, variant, ...settings }));
      }
    }
  }
  return clips;
}

/** Runs `task` over `items` with at most `concurrency` in flight, in order of results. */
async function mapLimited(items, concurrency, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Raw log-mel features of every clip, [clips, FRAMES, bands], from the cache or synthesised (and then cached). */
async function clipFeatures(name, clips, log) {
  const key = crypto.createHash('sha1').update(JSON.stringify({ FEATURE_VERSION, FRAMES, DEFAULT_LOG_MEL, clips })).digest('hex').slice(0, 16);
  const file = path.join(CACHE_DIR, `speech-${name}-${key}.f32`);
  const size = clips.length * FRAMES * DEFAULT_LOG_MEL.bands;
  if (fs.existsSync(file)) {
    const bytes = fs.readFileSync(file);
    if (bytes.length === size * 4) {
      log(`  ${name}: ${clips.length} clips from the cache ${path.relative(process.cwd(), file)}`);
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    }
  }
  const data = new Float32Array(size);
  const started = Date.now();
  let done = 0;
  await mapLimited(clips, 2, async (clip, i) => {
    const features = fixFrames(logMel(await synthesise(clip)), FRAMES);
    data.set(features.data, i * FRAMES * DEFAULT_LOG_MEL.bands);
    if (++done % 200 === 0 || done === clips.length) log(`  ${name}: synthesised ${done}/${clips.length} clips (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  });
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, Buffer.from(data.buffer));
  fs.renameSync(temp, file);
  return data;
}

/** Per-band mean and standard deviation over every frame of `data` ([.., bands]). */
function bandStatistics(data, bands) {
  const mean = new Float64Array(bands);
  const square = new Float64Array(bands);
  const rows = data.length / bands;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < bands; b++) {
      const v = data[r * bands + b];
      mean[b] += v;
      square[b] += v * v;
    }
  }
  const std = new Float64Array(bands);
  for (let b = 0; b < bands; b++) {
    mean[b] /= rows;
    std[b] = Math.sqrt(Math.max(square[b] / rows - mean[b] * mean[b], 1e-12));
  }
  return { mean, std };
}

function standardise(data, { mean, std }) {
  const bands = mean.length;
  for (let i = 0; i < data.length; i++) data[i] = (data[i] - mean[i % bands]) / std[i % bands];
  return data;
}

function pack(clips, data) {
  return {
    x: new rk.Tensor(data, [clips.length, FRAMES, DEFAULT_LOG_MEL.bands]),
    y: new rk.Tensor(Float32Array.from(clips, (c) => c.label), [clips.length]),
    clips,
  };
}

/**
 * Synthesises (or loads from the cache) every clip list of `specs` ({ name: clips }; the name also names the cache
 * file) and returns `{ name: { x [N, 32, 24], y [N], clips } }`, every set standardised per band with the statistics
 * of `specs.source` (fixed constants for every arm). `log` receives progress lines.
 */
async function loadClipSets(specs, log = console.log) {
  if (!specs.source) {
    throw new Error(`Expected a 'source' clip list for the band statistics but received ${Object.keys(specs).join(', ')}`);
  }
  requireTools();
  const raw = {};
  for (const [name, clips] of Object.entries(specs)) raw[name] = await clipFeatures(name, clips, log);
  const stats = bandStatistics(raw.source, DEFAULT_LOG_MEL.bands);
  for (const data of Object.values(raw)) standardise(data, stats);
  return Object.fromEntries(Object.keys(specs).map((name) => [name, pack(specs[name], raw[name])]));
}

/** Domain A's clips: the digits by the SOURCE variants in every English accent. */
function sourceDigitClips() {
  return clipList(DIGITS, VARIANTS.source);
}

/** `{ train, test }` of the packed source set: the last SOURCE_TEST_VARIANTS source variants are the test voices. */
function splitSourceByVoice(source) {
  const heldOut = new Set(VARIANTS.source.slice(-SOURCE_TEST_VARIANTS));
  return { train: selectClips(source, (c) => !heldOut.has(c.variant)), test: selectClips(source, (c) => heldOut.has(c.variant)) };
}

/**
 * Synthesises (or loads) both domains. Returns `{ a: { train, test }, b: { pool, test } }`, each `{ x [N, 32, 24], y [N],
 * clips }`, every set standardised per band with domain A's statistics (fixed constants for every arm).
 * `log` receives progress lines.
 */
async function loadSpeechDomains(log = console.log) {
  const sets = await loadClipSets({
    source: sourceDigitClips(),
    pool: clipList(COMMANDS, VARIANTS.pool),
    test: clipList(COMMANDS, VARIANTS.test),
  }, log);
  return { a: splitSourceByVoice(sets.source), b: { pool: sets.pool, test: sets.test } };
}

/** Rows of a packed set whose clip satisfies `keep`. */
function selectClips(set, keep) {
  const rows = set.clips.map((clip, i) => (keep(clip) ? i : -1)).filter((i) => i >= 0);
  return takeRows(set, rows);
}

function takeRows(set, rows) {
  const row = set.x.size / set.x.shape[0];
  const x = new Float32Array(rows.length * row);
  rows.forEach((r, i) => x.set(set.x.data.subarray(r * row, (r + 1) * row), i * row));
  return {
    x: new rk.Tensor(x, [rows.length, ...set.x.shape.slice(1)]),
    y: new rk.Tensor(Float32Array.from(rows, (r) => set.y.data[r]), [rows.length]),
    clips: rows.map((r) => set.clips[r]),
  };
}

/** `n` examples, the same number per class (remainder to the first classes), drawn with `seed` in a seeded order. */
function sampleBalanced(set, n, seed, classes = 10) {
  return takeRows(set, balancedRows(set.y.data, n, seed, classes));
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * A text task for the cross-modal control: words spelled as one-hot character sequences [count, FRAMES, 27] (26
 * letters + blank), each letter held for 2-4 steps after 0-3 leading blanks (a spelling stretched over time, like a
 * word over frames), with each letter replaced by a random one with probability `typoRate`. Labels: the word's index.
 */
function spelledWords(words, count, seed, typoRate = 0.15) {
  const rng = new rk.Random(seed);
  const width = LETTERS.length + 1;
  const x = new Float32Array(count * FRAMES * width);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const label = rng.integer(words.length);
    y[i] = label;
    let step = rng.integer(4);
    const blank = (t) => { x[(i * FRAMES + t) * width + LETTERS.length] = 1; };
    for (let t = 0; t < step; t++) blank(t);
    for (const letter of words[label]) {
      const symbol = rng.uniform() < typoRate ? rng.integer(LETTERS.length) : LETTERS.indexOf(letter);
      for (let repeat = 2 + rng.integer(3); repeat > 0 && step < FRAMES; repeat--, step++) x[(i * FRAMES + step) * width + symbol] = 1;
    }
    for (; step < FRAMES; step++) blank(step);
  }
  return { x: new rk.Tensor(x, [count, FRAMES, width]), y: new rk.Tensor(y, [count]) };
}

module.exports = {
  loadSpeechDomains, sampleBalanced, selectClips, spelledWords, DIGITS, COMMANDS, ACCENTS, VARIANTS, FRAMES,
  // The pipeline, for other word sets:
  clipList, sourceDigitClips, loadClipSets, splitSourceByVoice, requireTools,
};
