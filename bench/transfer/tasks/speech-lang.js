'use strict';
/**
 * Cross-lingual spoken words: English digits -> Spanish digits, synthesised here with espeak-ng + sox (no download)
 * by the pipeline of examples/data/speech-domains.js, as log-mel sequences [32 frames, 24 bands]:
 *
 *   domain A: "zero" .. "nine" in 8 English accents (labels 0-9): exactly domain A of the speech demo (same clips,
 *             same cache file); the last 2 of its 16 SOURCE voice variants are the source test voices.
 *   domain B: "cero" .. "nueve" (labels 0-9) in the 2 Spanish voices of espeak-ng, es (Spain) and es-419 (Latin
 *             America, which says "cero" and "cinco" with /s/ where es has /θ/).
 *
 * Split by voice variant, as in the demo: the pool is spoken by the 8 POOL variants, the test set by the 8 disjoint
 * TEST variants, and neither list shares a variant with domain A's SOURCE list, so no test voice is heard in any
 * training. Spanish has 2 accents where English has 8, so every Spanish voice (accent + variant) speaks each word at 4
 * seeded speed and pitch settings ("takes"): 2 x 8 x 4 = 64 clips a word, 640 in the pool and 640 in the test set.
 * Every set is standardised per band with domain A's statistics. Features are cached in examples/generated/: the
 * Spanish sets as speech-es-pool-*.f32 and speech-es-test-*.f32, domain A in the demo's own speech-source-*.f32. A
 * first run synthesises the 1,280 Spanish clips (about 20 s on 2 cores) and the 1,280 English ones unless the demo
 * has (about 25 s).
 */
const speech = require('../../../examples/data/speech-domains');
const { DEFAULT_LOG_MEL } = require('../../../examples/data/log-mel');

const SPANISH_DIGITS = ['cero', 'uno', 'dos', 'tres', 'cuatro', 'cinco', 'seis', 'siete', 'ocho', 'nueve'];
const SPANISH_ACCENTS = ['es', 'es-419'];
/** Speed and pitch settings per Spanish voice, so that every class has at least 50 pool clips (2 x 8 x 4 = 64). */
const TAKES = 4;
const CLASSES = 10;

module.exports = {
  id: 'speech-lang',
  title: 'Spoken digits: English voices -> Spanish voices (unseen variants)',

  /** Both sizes load the same clips: domain A is the demo's, and B's pool (640 clips) is small already. */
  async load({ size, log }) {
    if (size !== 'quick' && size !== 'full') {
      throw new Error(`Expected size 'quick' or 'full' but received ${JSON.stringify(size)}`);
    }
    const spanish = { accents: SPANISH_ACCENTS, takes: TAKES };
    const sets = await speech.loadClipSets({
      source: speech.sourceDigitClips(),
      'es-pool': speech.clipList(SPANISH_DIGITS, speech.VARIANTS.pool, spanish),
      'es-test': speech.clipList(SPANISH_DIGITS, speech.VARIANTS.test, spanish),
    }, log);
    const { train, test } = speech.splitSourceByVoice(sets.source);
    log(`  speech-lang: A ${train.y.size} English digit clips (${test.y.size} by held-out variants), ` +
      `B ${sets['es-pool'].y.size} Spanish pool clips, ${sets['es-test'].y.size} Spanish test clips by unseen variants`);
    return {
      source: { train, test, classes: CLASSES },
      target: { pool: sets['es-pool'], test: sets['es-test'], classes: CLASSES },
    };
  },

  /** The speech demo's classifier (examples/speech-transfer.js): LSTM 64 over [32, 24] log-mel frames. */
  buildModel(rk, classes) {
    const model = rk.sequential({ name: 'spoken-digits' });
    model.add(rk.layers.lstm({ name: 'lstm', units: 64, inputShape: [speech.FRAMES, DEFAULT_LOG_MEL.bands] }));
    model.add(rk.layers.dense({ name: 'head', units: classes, activation: 'softmax' }));
    return model;
  },

  /** The demo's quick source schedule. */
  sourceTraining: { epochs: 25, batchSize: 32 },
};
