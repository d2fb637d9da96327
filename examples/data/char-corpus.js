'use strict';
/**
 * A character corpus for the text-generation example: the Debian `fortunes` package's quotation files (already on
 * disk after `apt-get install fortunes`; nothing is downloaded), or any text file or directory given by path.
 *
 * Text is lower-cased, fortunes' `%` separator lines become blank lines, and characters outside printable ASCII
 * (plus newline) are dropped, so the vocabulary stays near 60 symbols. `windows` draws training windows: character
 * ids [count, steps] (for an embedding) and the next character of every position as targets [count, steps].
 */
const fs = require('fs');
const path = require('path');
const rk = require('../..');

const FORTUNES_DIR = '/usr/share/games/fortunes';
/** The prose collections of fortunes (the ASCII-art and offensive ones left out). */
const FORTUNE_FILES = ['fortunes', 'wisdom', 'platitudes', 'literature', 'humorists', 'people', 'computers', 'science', 'education', 'law', 'work', 'love', 'food'];

/** Text files under `target` (a file, or a directory read non-recursively, skipping fortune index files). */
function filesOf(target) {
  const stat = fs.statSync(target);
  if (stat.isFile()) return [target];
  return fs.readdirSync(target).map((name) => path.join(target, name))
    .filter((file) => fs.statSync(file).isFile() && !/\.(dat|u8)$/.test(file)).sort();
}

/**
 * The corpus text: `corpusPath` if given, else the fortunes collections in `fortunesDir`. Throws an Error that says
 * which package to install, or how to pass another path, when neither is there.
 */
function loadCorpus(corpusPath, fortunesDir = FORTUNES_DIR) {
  let files;
  if (corpusPath) {
    if (!fs.existsSync(corpusPath)) throw new Error(`Expected a text file or directory at --corpus ${corpusPath} but nothing is there`);
    files = filesOf(corpusPath);
  } else {
    files = FORTUNE_FILES.map((name) => path.join(fortunesDir, name)).filter((file) => fs.existsSync(file));
    if (files.length === 0) {
      throw new Error(`The default corpus is the Debian package 'fortunes' (${fortunesDir}), which is not installed. ` +
        'Install it with:  sudo apt-get install fortunes   or pass any text file or directory with  --corpus <path>  ' +
        '(for example  --corpus /usr/include/eigen3/Eigen/src/Core  for C++ sources).');
    }
  }
  const raw = files.map((file) => fs.readFileSync(file, 'latin1')).join('\n');
  const text = raw.toLowerCase().replace(/^%$/gm, '').replace(/[^\n\x20-\x7e]/g, '').replace(/\n{3,}/g, '\n\n');
  if (text.length < 10000) throw new Error(`Expected at least 10,000 characters of text in ${files.join(', ')} but found ${text.length}`);
  return { text, files };
}

/** The sorted characters of `text` and the index of each. */
function vocabulary(text) {
  const chars = [...new Set(text)].sort();
  return { chars, index: new Map(chars.map((c, i) => [c, i])) };
}

/**
 * `count` windows of `steps` characters starting at random offsets (drawn with `rng`): x the character ids
 * [count, steps], y the next character of every position [count, steps] (class indices).
 */
function windows(text, vocab, count, steps, rng) {
  const x = new Float32Array(count * steps);
  const y = new Float32Array(count * steps);
  for (let i = 0; i < count; i++) {
    const start = rng.integer(text.length - steps - 1);
    for (let t = 0; t < steps; t++) {
      x[i * steps + t] = vocab.index.get(text[start + t]);
      y[i * steps + t] = vocab.index.get(text[start + t + 1]);
    }
  }
  return { x: new rk.Tensor(x, [count, steps]), y: new rk.Tensor(y, [count, steps]) };
}

/** The ids of the characters of `s` (a chunk for the stream pool). */
function charIds(s, vocab) {
  return Int32Array.from(s, (c) => vocab.index.get(c));
}

module.exports = { loadCorpus, vocabulary, windows, charIds, FORTUNES_DIR };
