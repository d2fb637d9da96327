/**
 * Eager argument validation at the API boundary. Every message is built by {@link invalid}:
 * `Expected <what> for <name> but received <value>`, so errors read the same everywhere.
 */
import { types } from 'util';
import { RnnError, RnnErrorCode } from './errors';

const MAX_STRING_PREVIEW = 40;

/** Short printable form of any value, for error messages (never the full contents of big arrays). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'undefined':
      return 'undefined';
    case 'string': {
      const shown = v.length > MAX_STRING_PREVIEW ? `${v.slice(0, MAX_STRING_PREVIEW)}...` : v;
      return JSON.stringify(shown);
    }
    case 'number':
      // String() already prints NaN, Infinity and -Infinity; -0 is worth telling apart from 0.
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
      return String(v);
    case 'symbol':
      return v.toString();
    case 'function':
      return v.name ? `function ${v.name}` : 'function';
    default:
      return describeObject(v as object);
  }
}

function describeObject(v: object): string {
  if (Array.isArray(v)) return `array(${v.length})`;
  if (types.isTypedArray(v)) {
    // Symbol.toStringTag works across realms, unlike constructor identity.
    return `${(v as Uint8Array)[Symbol.toStringTag]}(${(v as Uint8Array).length})`;
  }
  if (types.isArrayBuffer(v)) return `ArrayBuffer(${v.byteLength})`;
  const shape = (v as { shape?: unknown }).shape;
  if (Array.isArray(shape) && shape.every((d) => typeof d === 'number')) {
    return `tensor of shape [${shape.join(', ')}]`;
  }
  return 'object';
}

/** The error for a value that is not `what`: `Expected ${what} for ${name} but received ${describeValue(received)}`. */
export function invalid(code: RnnErrorCode, what: string, name: string, received: unknown): RnnError {
  return new RnnError(code, `Expected ${what} for ${name} but received ${describeValue(received)}`);
}

/** Bounds for {@link checkInteger}; both inclusive, unbounded when omitted. */
export interface IntegerBounds {
  /** Smallest allowed value (inclusive). Default: no lower bound. */
  min?: number;
  /** Largest allowed value (inclusive). Default: no upper bound. */
  max?: number;
}

/** Bounds for {@link checkNumber}; unbounded when omitted. */
export interface NumberBounds {
  /** Smallest allowed value (inclusive). Default: no lower bound. */
  min?: number;
  /** The value must be strictly greater than this. Default: no strict lower bound. */
  minExclusive?: number;
  /** Largest allowed value (inclusive). Default: no upper bound. */
  max?: number;
  /** The value must be strictly less than this. Default: no strict upper bound. */
  maxExclusive?: number;
}

function describeRange(bounds: NumberBounds): string {
  const parts: string[] = [];
  if (bounds.min !== undefined) parts.push(`>= ${bounds.min}`);
  if (bounds.minExclusive !== undefined) parts.push(`> ${bounds.minExclusive}`);
  if (bounds.max !== undefined) parts.push(`<= ${bounds.max}`);
  if (bounds.maxExclusive !== undefined) parts.push(`< ${bounds.maxExclusive}`);
  return parts.length === 0 ? '' : ` ${parts.join(' and ')}`;
}

function inRange(v: number, bounds: NumberBounds): boolean {
  return (
    (bounds.min === undefined || v >= bounds.min) &&
    (bounds.minExclusive === undefined || v > bounds.minExclusive) &&
    (bounds.max === undefined || v <= bounds.max) &&
    (bounds.maxExclusive === undefined || v < bounds.maxExclusive)
  );
}

/** Returns `v` if it is a safe integer within the bounds, else throws an `ARGUMENT` {@link RnnError}. */
export function checkInteger(v: unknown, name: string, bounds: IntegerBounds = {}): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || !inRange(v, bounds)) {
    throw invalid('ARGUMENT', `an integer${describeRange(bounds)}`, name, v);
  }
  return v;
}

/** Returns `v` if it is a finite number within the bounds, else throws an `ARGUMENT` {@link RnnError}. */
export function checkNumber(v: unknown, name: string, bounds: NumberBounds = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !inRange(v, bounds)) {
    throw invalid('ARGUMENT', `a finite number${describeRange(bounds)}`, name, v);
  }
  return v;
}

/**
 * Returns `v` if it is a finite number within the bounds both as given and as the float32 the native core computes
 * with, else throws an `ARGUMENT` {@link RnnError}. `1e39` is finite in JS but Infinity in float32, and `1e-50` is
 * positive in JS but 0 in float32: either would reach the weights as Infinity or a division by zero.
 */
export function checkFloat32(v: unknown, name: string, bounds: NumberBounds = {}): number {
  const value = checkNumber(v, name, bounds);
  const single = Math.fround(value);
  if (!Number.isFinite(single) || !inRange(single, bounds)) {
    throw new RnnError('ARGUMENT', `Expected a number${describeRange(bounds)} that stays so in float32 for ${name} but received ${describeValue(v)} (${describeValue(single)} in float32)`);
  }
  return value;
}

/** Returns `v` if it is a boolean, else throws an `ARGUMENT` {@link RnnError}. */
export function checkBoolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw invalid('ARGUMENT', 'a boolean', name, v);
  return v;
}

/** Returns `v` if it is one of `options`, else throws an `ARGUMENT` {@link RnnError} listing them. */
export function checkOneOf<T extends string>(v: unknown, name: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    throw invalid('ARGUMENT', `one of ${options.map((o) => `'${o}'`).join(', ')}`, name, v);
  }
  return v as T;
}

/** Returns `v` if it is a function, else throws an `ARGUMENT` {@link RnnError}. */
export function checkFunction<F extends (...args: never[]) => unknown = (...args: never[]) => unknown>(
  v: unknown,
  name: string,
): F {
  if (typeof v !== 'function') throw invalid('ARGUMENT', 'a function', name, v);
  return v as F;
}

/** True for `{...}` literals and `Object.create(null)`, from any realm; false for arrays and class instances. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (Object.prototype.toString.call(v) !== '[object Object]') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/**
 * Throws an `ARGUMENT` {@link RnnError} when `options` is not a plain object, or has a key outside `allowed`
 * (including `__proto__`, `constructor` and `prototype`, which could be used for prototype pollution).
 * `undefined` is accepted. `context` names the call, e.g. `'earlyStopping options'`.
 */
export function checkKnownKeys(options: object | undefined, allowed: readonly string[], context: string): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) throw invalid('ARGUMENT', 'a plain options object', context, options);
  for (const key of Object.keys(options)) {
    if (FORBIDDEN_KEYS.includes(key) || !allowed.includes(key)) {
      const hint = closestKey(key, allowed);
      throw new RnnError(
        'ARGUMENT',
        `Unknown option '${key}' in ${context}` +
          (hint === undefined ? '' : ` (did you mean '${hint}'?)`) +
          `; allowed options are: ${allowed.length === 0 ? '(none)' : allowed.join(', ')}`,
      );
    }
  }
}

/** `options`, or `{}` when undefined; throws an `ARGUMENT` {@link RnnError} for anything but a plain object. */
export function optionsOrEmpty<T>(options: T | undefined, context: string): T {
  if (options === undefined) return {} as T;
  if (!isPlainObject(options)) throw invalid('ARGUMENT', 'a plain options object', context, options);
  return options;
}

/** The allowed key nearest to a misspelt one (case-insensitive match or edit distance <= 2). */
function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance with one rolling row. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
