import { RnnError } from '../lib/errors';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkNumber,
  checkOneOf,
  describeValue,
  invalid,
  isPlainObject,
  optionsOrEmpty,
} from '../lib/validate';
import { thrown } from './helpers/checks';

describe('RnnError', () => {
  it('is an Error with a code, a name and a working instanceof', () => {
    const e = new RnnError('SHAPE', 'bad shape');
    expect(e).toBeInstanceOf(RnnError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('SHAPE');
    expect(e.name).toBe('RnnError');
    expect(e.message).toBe('bad shape');
    expect(String(e)).toBe('RnnError: bad shape');
    expect(e.stack).toContain('bad shape');
  });
});

describe('describeValue', () => {
  it.each<[unknown, string]>([
    ['abc', '"abc"'],
    ['x'.repeat(50), `"${'x'.repeat(40)}..."`],
    [3.5, '3.5'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'undefined'],
    [10n, '10n'],
    [[1, 2, 3], 'array(3)'],
    [new Float32Array(7), 'Float32Array(7)'],
    [new Int32Array(2), 'Int32Array(2)'],
    [{ a: 1 }, 'object'],
    [{ shape: [2, 3], dataSync: () => [] }, 'tensor of shape [2, 3]'],
    [function named() {}, 'function named'],
  ])('%p -> %s', (value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });
});

describe('invalid', () => {
  it('builds the one message format with the given code', () => {
    const e = invalid('DTYPE', 'a number', 'x[0]', 'a');
    expect(e.code).toBe('DTYPE');
    expect(e.message).toBe('Expected a number for x[0] but received "a"');
  });
});

describe('checkers', () => {
  it('checkInteger accepts integers within bounds and names the bounds otherwise', () => {
    expect(checkInteger(3, 'units', { min: 1 })).toBe(3);
    expect(checkInteger(-2, 'k')).toBe(-2);
    expect(thrown(() => checkInteger(0, 'units', { min: 1 })).message).toBe(
      'Expected an integer >= 1 for units but received 0',
    );
    expect(thrown(() => checkInteger(2.5, 'units')).message).toBe('Expected an integer for units but received 2.5');
    expect(thrown(() => checkInteger('3', 'units')).code).toBe('ARGUMENT');
    expect(thrown(() => checkInteger(11, 'n', { min: 0, max: 10 })).message).toBe(
      'Expected an integer >= 0 and <= 10 for n but received 11',
    );
  });

  it('checkNumber rejects NaN/Infinity and honours exclusive bounds', () => {
    expect(checkNumber(0.5, 'rate', { minExclusive: 0, maxExclusive: 1 })).toBe(0.5);
    expect(thrown(() => checkNumber(NaN, 'rate')).message).toBe('Expected a finite number for rate but received NaN');
    expect(thrown(() => checkNumber(Infinity, 'rate')).code).toBe('ARGUMENT');
    expect(thrown(() => checkNumber(0, 'learningRate', { minExclusive: 0 })).message).toBe(
      'Expected a finite number > 0 for learningRate but received 0',
    );
    expect(thrown(() => checkNumber(1, 'factor', { maxExclusive: 1 })).message).toContain('< 1');
    expect(checkNumber(1, 'factor', { max: 1 })).toBe(1);
  });

  it('checkBoolean, checkOneOf and checkFunction', () => {
    expect(checkBoolean(false, 'flag')).toBe(false);
    expect(thrown(() => checkBoolean(0, 'flag')).message).toBe('Expected a boolean for flag but received 0');
    expect(checkOneOf('max', 'mode', ['min', 'max'] as const)).toBe('max');
    expect(thrown(() => checkOneOf('avg', 'mode', ['min', 'max'])).message).toBe(
      "Expected one of 'min', 'max' for mode but received \"avg\"",
    );
    const f = (): number => 1;
    expect(checkFunction(f, 'fn')).toBe(f);
    expect(thrown(() => checkFunction({}, 'fn')).message).toBe('Expected a function for fn but received object');
  });
});

describe('checkKnownKeys', () => {
  const allowed = ['units', 'activation'];

  it('accepts undefined and known keys', () => {
    expect(() => checkKnownKeys(undefined, allowed, 'lstm options')).not.toThrow();
    expect(() => checkKnownKeys({ units: 3 }, allowed, 'lstm options')).not.toThrow();
    expect(() => checkKnownKeys(Object.create(null) as object, allowed, 'lstm options')).not.toThrow();
  });

  it('names the unknown key, the context and the allowed keys, with a suggestion', () => {
    const e = thrown(() => checkKnownKeys({ unit: 3 }, allowed, 'lstm options'));
    expect(e.code).toBe('ARGUMENT');
    expect(e.message).toBe(
      "Unknown option 'unit' in lstm options (did you mean 'units'?); allowed options are: units, activation",
    );
    expect(thrown(() => checkKnownKeys({ zzz: 1 }, allowed, 'ctx')).message).not.toContain('did you mean');
  });

  it('rejects prototype keys and non-plain objects', () => {
    const polluted = JSON.parse('{"__proto__": {"x": 1}}') as object;
    expect(thrown(() => checkKnownKeys(polluted, allowed, 'ctx')).message).toContain("'__proto__'");
    expect(thrown(() => checkKnownKeys({ constructor: 1 }, [...allowed, 'constructor'], 'ctx')).message).toContain(
      "'constructor'",
    );
    expect(thrown(() => checkKnownKeys([1], allowed, 'ctx')).message).toBe(
      'Expected a plain options object for ctx but received array(1)',
    );
    expect(thrown(() => checkKnownKeys(new Date(0), allowed, 'ctx')).code).toBe('ARGUMENT');
    class Options {
      units = 1;
    }
    expect(thrown(() => checkKnownKeys(new Options(), allowed, 'ctx')).code).toBe('ARGUMENT');
  });
});

describe('optionsOrEmpty and isPlainObject', () => {
  it('maps undefined to {} and rejects non-objects', () => {
    expect(optionsOrEmpty(undefined, 'fit options')).toEqual({});
    const o = { a: 1 };
    expect(optionsOrEmpty(o, 'fit options')).toBe(o);
    expect(thrown(() => optionsOrEmpty(5 as unknown as object, 'fit options')).message).toBe(
      'Expected a plain options object for fit options but received 5',
    );
    expect(thrown(() => optionsOrEmpty(null as unknown as object, 'fit options')).code).toBe('ARGUMENT');
  });

  it('isPlainObject', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(new Map())).toBe(false);
    expect(isPlainObject(null)).toBe(false);
  });
});
