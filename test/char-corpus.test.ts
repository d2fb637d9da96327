/**
 * The corpus module of the text-generation demo (examples/data/char-corpus.js); the demo itself runs at its `--smoke`
 * size in test/stream-examples.test.ts, `--quick` (about 30 s) and the default by hand (README).
 * - Cleaning: lower case, fortunes' '%' separators dropped, non-ASCII dropped, runs of blank lines collapsed.
 * - A missing default corpus is an error naming the package to install and the --corpus option.
 * - Windows: character ids, and the target at t is the character at t + 1; seeded draws repeat.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as rk from '../lib';

const corpus = require('../examples/data/char-corpus') as {
  loadCorpus(corpusPath?: string, fortunesDir?: string): { text: string; files: string[] };
  vocabulary(text: string): { chars: string[]; index: Map<string, number> };
  windows(text: string, vocab: ReturnType<typeof corpus.vocabulary>, count: number, steps: number, rng: rk.Random): { x: rk.Tensor; y: rk.Tensor };
  charIds(s: string, vocab: ReturnType<typeof corpus.vocabulary>): Int32Array;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'char-corpus-'));
const file = path.join(dir, 'quotes');
const body = 'Hello World.\n%\nCafé au lait!\n\n\n\n%\nThe End\n';
fs.writeFileSync(file, body.repeat(600), 'latin1');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('char corpus', () => {
  test('cleans a corpus given by path (file or directory) and lists its vocabulary', () => {
    const { text, files } = corpus.loadCorpus(file);
    expect(files).toEqual([file]);
    expect(text.startsWith('hello world.\n\ncaf au lait!\n\nthe end\n')).toBe(true);
    expect(/[^\n\x20-\x7e]|\n{3}|%/.test(text)).toBe(false);
    fs.writeFileSync(path.join(dir, 'quotes.dat'), 'binary index');
    expect(corpus.loadCorpus(dir).files).toEqual([file]);
    expect(corpus.vocabulary(text).chars.join('')).toBe('\n !.acdefhilnortuw');
  });

  test('a missing corpus is an error that says what to install or pass', () => {
    expect(() => corpus.loadCorpus(undefined, path.join(dir, 'no-fortunes'))).toThrow(/apt-get install fortunes.*--corpus/);
    expect(() => corpus.loadCorpus(path.join(dir, 'missing.txt'))).toThrow(/missing\.txt/);
  });

  test('windows: character ids, next-character targets, repeatable with a seed', () => {
    const { text } = corpus.loadCorpus(file);
    const vocab = corpus.vocabulary(text);
    const V = vocab.chars.length;
    const { x, y } = corpus.windows(text, vocab, 5, 7, new rk.Random(3));
    expect(x.shape).toEqual([5, 7]);
    expect(y.shape).toEqual([5, 7]);
    const charAt = (i: number, t: number) => x.data[i * 7 + t];
    expect(x.data.every((id) => Number.isInteger(id) && id >= 0 && id < V)).toBe(true);
    for (let i = 0; i < 5; i++) {
      for (let t = 0; t < 6; t++) expect(y.data[i * 7 + t]).toBe(charAt(i, t + 1));
      const window = Array.from({ length: 7 }, (_, t) => vocab.chars[charAt(i, t)]).join('') + vocab.chars[y.data[i * 7 + 6]];
      expect(text.includes(window)).toBe(true);
    }
    expect(Array.from(corpus.windows(text, vocab, 5, 7, new rk.Random(3)).y.data)).toEqual(Array.from(y.data));
    expect(Array.from(corpus.charIds('he', vocab))).toEqual([vocab.index.get('h'), vocab.index.get('e')]);
  });
});
