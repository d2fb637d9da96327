'use strict';
/**
 * Spoken words synthesised here with espeak-ng and sox (examples/data/speech-domains.js; log-mel [32 frames, 24
 * bands]), the pair of examples/speech-transfer.js: domain A the English digits "zero".."nine" by 16 voice variants,
 * domain B ten English command words (yes, no, up, down, ...) by 8 other variants (the pool), tested on 8 more
 * variants never seen in training. The first run synthesises the clips (about 2 minutes) and caches their features in
 * examples/generated/.
 */
const { loadSpeechDomains, FRAMES } = require('../../../examples/data/speech-domains');
const { DEFAULT_LOG_MEL } = require('../../../examples/data/log-mel');

module.exports = {
  id: 'speech',
  title: 'Speech: English digits -> English command words (unseen voices)',

  async load({ log }) {
    const { a, b } = await loadSpeechDomains(log);
    return { source: { ...a, classes: 10 }, target: { pool: b.pool, test: b.test, classes: 10 } };
  },

  buildModel(kit, classes) {
    const model = kit.sequential({ name: 'words' });
    model.add(kit.layers.lstm({ name: 'lstm', units: 64, inputShape: [FRAMES, DEFAULT_LOG_MEL.bands] }));
    model.add(kit.layers.dense({ name: 'head', units: classes, activation: 'softmax' }));
    return model;
  },

  // The speech demo's quick source training (0.95 on held-out voices).
  sourceTraining: { epochs: 25, batchSize: 32 },
};
