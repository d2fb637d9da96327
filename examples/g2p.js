#!/usr/bin/env node
'use strict';
/**
 * Grapheme-to-phoneme conversion on CMUdict (real data, see data/cmudict.js): spell a word, get its phonemes.
 *
 * Model: letters -> embedding -> bidirectional LSTM encoder (its final forward and backward h and c, concatenated,
 * start the decoder) -> LSTM decoder over the previous phonemes (teacher forcing in training) -> softmax over the
 * phonemes. "+ attention": Luong dot attention (rk.layers.attention) of every decoder output over the encoder
 * outputs; the context is concatenated with the decoder output before the softmax, as in Keras's examples.
 * Inference: an encoder model (outputs, h, c) and a one-step decoder model built from the same layers, run by
 * rk.decode (greedy and beam search; the encoder outputs are the decoder's constant input). Test words are decoded
 * in groups of equal length, so no padded encoder step exists at inference (the training masks skip them).
 *
 * Split: by word (each word keeps its first pronunciation; see data/cmudict.js), seeded. Scores on held-out words:
 * WER = share of words with any phoneme wrong; PER = edit distances summed / reference phonemes summed.
 *
 * Usage:  node examples/g2p.js [--quick | --medium | --full] [--seed N] [--attention-only]
 *   --quick   (default) a small subset and model: about a minute on 2 cores; deterministic for a seed.
 *   --medium  a larger subset and model (several minutes).
 *   --full    every word, 5% held out (long: see the README for measured times).
 *   --attention-only  trains and scores only the attention model (half the time).
 * Run `npm run build:ts` first: the example loads the package the way a user would.
 */
const rk = require('..');
const cmu = require('./data/cmudict');

const SIZES = {
  quick: { train: 8000, test: 800, embed: 24, units: 48, epochs: 10, batchSize: 32, learningRate: 0.01, beamWidth: 4 },
  medium: { train: 30000, test: 3000, embed: 48, units: 96, epochs: 12, batchSize: 64, learningRate: 0.005, beamWidth: 4 },
  full: { train: Infinity, test: Infinity, testFraction: 0.05, embed: 48, units: 96, epochs: 8, batchSize: 64, learningRate: 0.005, beamWidth: 4 },
};
const MAX_PHONES = cmu.MAX_LETTERS + 4;  // decoding stops here if no end token comes

function parseArgs(argv) {
  const size = argv.includes('--full') ? 'full' : argv.includes('--medium') ? 'medium' : 'quick';
  const at = argv.indexOf('--seed');
  const seed = at >= 0 ? Number(argv[at + 1]) : 1;
  if (!Number.isInteger(seed)) throw new Error(`Expected an integer after --seed but received ${argv[at + 1]}`);
  return { size, seed, attentionOnly: argv.includes('--attention-only'), ...SIZES[size] };
}

/** The training model and the inference encoder / one-step decoder built from the same layers. */
function buildG2P(vocab, { embed, units, attention }) {
  const letters = rk.input({ shape: [null], name: 'letters', dtype: 'int32' });
  const letterVectors = rk.layers.embedding({ inputDim: vocab.letterCount, outputDim: embed, maskZero: true, name: 'letter_embedding' }).apply(letters);
  const encoderLstm = rk.layers.lstm({ units, returnSequences: true, returnState: true });
  const [encoded, hf, cf, hb, cb] = rk.layers.bidirectional({ layer: encoderLstm, name: 'encoder' }).apply(letterVectors);
  const h = rk.layers.concatenate({ name: 'encoder_h' }).apply([hf, hb]);
  const c = rk.layers.concatenate({ name: 'encoder_c' }).apply([cf, cb]);

  const phoneEmbedding = rk.layers.embedding({ inputDim: vocab.phoneCount, outputDim: embed, maskZero: true, name: 'phone_embedding' });
  const decoderLstm = rk.layers.lstm({ units: 2 * units, returnSequences: true, returnState: true, name: 'decoder' });
  const attend = attention ? rk.layers.attention({ name: 'attention' }) : undefined;
  const join = rk.layers.concatenate({ name: 'context_and_output' });
  const softmax = rk.layers.dense({ units: vocab.phoneCount, activation: 'softmax', name: 'phoneme' });
  const head = (out, values) => softmax.apply(attend ? join.apply([attend.apply([out, values]), out]) : out);

  const previous = rk.input({ shape: [null], name: 'previous_phonemes', dtype: 'int32' });
  const [decoded] = decoderLstm.apply(phoneEmbedding.apply(previous), { initialState: [h, c] });
  const training = rk.model({ inputs: [letters, previous], outputs: head(decoded, encoded), name: 'g2p' });

  const encoder = rk.model({ inputs: letters, outputs: attention ? [encoded, h, c] : [h, c], name: 'g2p_encoder' });
  const token = rk.input({ shape: [1], name: 'token', dtype: 'int32' });
  const hIn = rk.input({ shape: [2 * units], name: 'h_in' });
  const cIn = rk.input({ shape: [2 * units], name: 'c_in' });
  const values = rk.input({ shape: [null, 2 * units], name: 'encoder_outputs' });
  const [stepOut, hOut, cOut] = decoderLstm.apply(phoneEmbedding.apply(token), { initialState: [hIn, cIn] });
  const decoder = rk.model({
    inputs: attention ? [token, hIn, cIn, values] : [token, hIn, cIn], outputs: [head(stepOut, values), hOut, cOut], name: 'g2p_decoder',
  });
  return { training, encoder, decoder };
}

async function train(models, data, options, label) {
  const { training } = models;
  training.compile({ optimizer: rk.optimizers.adam({ learningRate: options.learningRate, clipnorm: 5 }), loss: 'sparseCategoricalCrossentropy' });
  const started = Date.now();
  const progress = {
    onEpochEnd: (epoch, logs) => console.log(`  [${label}] epoch ${epoch + 1}/${options.epochs}  loss ${logs.loss.toFixed(4)}  ${((Date.now() - started) / 1000).toFixed(0)} s`),
  };
  await training.fit([data.letters, data.phones.input], data.phones.target, {
    epochs: options.epochs, batchSize: options.batchSize, seed: options.seed, verbose: 0, callbacks: [progress],
  });
  return (Date.now() - started) / 1000;
}

/** Decoded phoneme strings of `entries`, decoding words of one length together (no padding at inference). */
async function transcribe(models, entries, vocab, strategy, attention) {
  const byLength = new Map();
  entries.forEach((e, i) => byLength.set(e.word.length, [...(byLength.get(e.word.length) ?? []), i]));
  const out = new Array(entries.length);
  for (const rows of byLength.values()) {
    for (let from = 0; from < rows.length; from += 256) {
      const chunk = rows.slice(from, from + 256);
      const encoded = await models.encoder.predict(cmu.encodeWords(chunk.map((i) => entries[i])));
      const [outputs, h, c] = attention ? encoded : [undefined, ...encoded];
      const result = await rk.decode(models.decoder, {
        initialState: [h, c], constants: attention ? [outputs] : [], startToken: cmu.START, endToken: cmu.END, maxLength: MAX_PHONES, strategy,
      });
      chunk.forEach((i, k) => { out[i] = result.sequences[k].map(vocab.phoneOf); });
    }
  }
  return out;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const entries = cmu.loadEntries();
  const split = cmu.splitByWord(entries, options.testFraction ?? 0.1, options.seed);
  const trainSet = split.train.slice(0, options.train);
  const testSet = split.test.slice(0, options.test);
  const vocab = cmu.vocabularies(cmu.phonemeInventory());
  console.log(`CMUdict: ${entries.length} words (letters only, first pronunciation, stress removed); split by word with seed ${options.seed}: `
    + `${split.train.length} train / ${split.test.length} test; using ${trainSet.length} / ${testSet.length} (${options.size})`);
  const data = { letters: cmu.encodeWords(trainSet), phones: cmu.encodePhones(trainSet, vocab) };
  const references = testSet.map((e) => e.phones);

  const rows = [];
  const examples = {};
  for (const attention of options.attentionOnly ? [true] : [false, true]) {
    const label = attention ? 'BiLSTM + LSTM + attention' : 'BiLSTM + LSTM';
    rk.setSeed(options.seed);
    const models = buildG2P(vocab, { embed: options.embed, units: options.units, attention });
    console.log(`${label}: ${models.training.countParams()} parameters; training ${options.epochs} epochs`);
    const seconds = await train(models, data, options, label);
    for (const strategy of ['greedy', { beamWidth: options.beamWidth }]) {
      const decodeStarted = Date.now();
      const hypotheses = await transcribe(models, testSet, vocab, strategy, attention);
      const { wer, per } = cmu.errorRates(references, hypotheses);
      const name = strategy === 'greedy' ? 'greedy' : `beam ${strategy.beamWidth}`;
      rows.push({ model: label, decoding: name, WER: `${(100 * wer).toFixed(1)}%`, PER: `${(100 * per).toFixed(1)}%`,
        params: models.training.countParams(), 'train s': seconds.toFixed(0), 'decode s': ((Date.now() - decodeStarted) / 1000).toFixed(1) });
      console.log(`  ${label}, ${name}: WER ${(100 * wer).toFixed(1)}%  PER ${(100 * per).toFixed(1)}%`);
      examples[`${label}, ${name}`] = hypotheses;
    }
    for (const m of Object.values(models)) m.dispose();
  }
  console.log(`\nHeld-out words: ${testSet.length} (never seen in training); ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  console.table(rows);
  console.log('Examples (reference | each model and decoding):');
  for (let i = 0; i < Math.min(8, testSet.length); i++) {
    console.log(`  ${testSet[i].word.padEnd(14)} ${references[i].join(' ')}`);
    for (const [name, hyps] of Object.entries(examples)) {
      console.log(`    ${name.padEnd(36)} ${hyps[i].join(' ')}${cmu.editDistance(hyps[i], references[i]) === 0 ? '  (exact)' : ''}`);
    }
  }
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });

module.exports = { buildG2P, train, SIZES };
