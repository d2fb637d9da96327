/**
 * Checks shared by the model file readers. Everything read from disk is untrusted: JSON is parsed with a reviver
 * that rejects prototype-polluting keys, and every tensor entry is checked against the bytes actually present
 * (positive integer shapes, float32, offsets and lengths inside the data, no overlaps) before anything is allocated.
 * Every failure is a FORMAT {@link RnnError} naming the file and the entry.
 */
import { RnnError } from '../errors';
import { describeValue, isPlainObject } from '../validate';

/** Keys that could reach Object.prototype through a merge or a config spread. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Highest tensor rank a saved model may declare (rnnkit weights have rank <= 2; tfjs files may hold more). */
const MAX_RANK = 8;
const FLOAT32_BYTES = 4;

/** A FORMAT error in the house message style, prefixed with the file it concerns. */
export function formatError(file: string, what: string, name: string, received: unknown): RnnError {
  return new RnnError('FORMAT', `${file}: expected ${what} for ${name} but received ${describeValue(received)}`);
}

/**
 * JSON.parse that rejects `__proto__`, `constructor` and `prototype` keys at any depth and any non-JSON input.
 * `what` names the document in messages (e.g. the file path).
 */
export function parseUntrustedJson(text: string, file: string, what: string): unknown {
  let forbidden: string | undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, function reviver(key, value) {
      if (FORBIDDEN_KEYS.has(key)) forbidden = key;
      return value;
    });
  } catch (error) {
    throw new RnnError('FORMAT', `${file}: expected ${what} to be valid JSON but parsing failed: ${(error as Error).message}`);
  }
  // JSON.parse creates "__proto__" as an own property (it does not set the prototype), but a later spread or
  // Object.assign of a config would; refuse such documents outright.
  if (forbidden !== undefined) {
    throw new RnnError('FORMAT', `${file}: expected ${what} without a '${forbidden}' key but found one`);
  }
  return parsed;
}

/** `value` as a plain object, else a FORMAT error. */
export function requireObject(value: unknown, file: string, name: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw formatError(file, 'an object', name, value);
  return value;
}

/**
 * Refuses keys outside `allowed`: within one format version every key has a meaning, so an unknown one means a
 * newer or foreign writer whose information would otherwise be dropped silently.
 */
export function checkKeys(value: Record<string, unknown>, allowed: readonly string[], file: string, name: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new RnnError('FORMAT', `${file}: expected only ${allowed.join(', ')} in ${name} but found '${key}'`);
  }
}

/** `value` as an array, else a FORMAT error. */
export function requireArray(value: unknown, file: string, name: string, maxLength = Number.MAX_SAFE_INTEGER): unknown[] {
  if (!Array.isArray(value) || value.length > maxLength) {
    throw formatError(file, maxLength < Number.MAX_SAFE_INTEGER ? `an array of at most ${maxLength} entries` : 'an array', name, value);
  }
  return value;
}

/** `value` as a non-empty string, else a FORMAT error. */
export function requireString(value: unknown, file: string, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw formatError(file, 'a non-empty string', name, value);
  return value;
}

/** `value` as a safe integer >= min, else a FORMAT error. */
export function requireInteger(value: unknown, file: string, name: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw formatError(file, `an integer >= ${min}`, name, value);
  }
  return value;
}

/**
 * A tensor shape of positive integers whose element count does not exceed `maxElements` (the bytes available),
 * so a forged shape can neither overflow nor ask for more memory than the file holds. `[]` is a scalar (one
 * element): Keras's scalar weights, e.g. Attention's `scale` and `concat_score_weight`.
 */
export function requireShape(value: unknown, file: string, name: string, maxElements: number): number[] {
  if (!Array.isArray(value) || value.length > MAX_RANK) {
    throw formatError(file, `a shape of 0 to ${MAX_RANK} positive integers`, name, value);
  }
  if (maxElements < 1) {
    throw new RnnError('FORMAT', `${file}: expected ${name} to fit in the ${maxElements * FLOAT32_BYTES} bytes of tensor data but its shape [${value.join(', ')}] needs more`);
  }
  let elements = 1;
  for (const d of value) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 1) {
      throw formatError(file, 'a shape of positive integers', name, `[${value.map((x) => describeValue(x)).join(', ')}]`);
    }
    elements *= d;
    if (elements > maxElements) {
      throw new RnnError('FORMAT', `${file}: expected ${name} to fit in the ${maxElements * FLOAT32_BYTES} bytes of tensor data but its shape [${value.join(', ')}] needs more`);
    }
  }
  return value.slice();
}

/** The element count of a shape. */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A float32 tensor stored at [offset, offset + length) of a data section. */
export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

/**
 * Validates one `{ shape, dtype, offset, length }` record of a tensor table against a data section of
 * `dataBytes` bytes: float32 only, 4-byte aligned, inside the data, and `length` equal to the shape's bytes.
 */
export function readTensorEntry(raw: unknown, file: string, name: string, dataBytes: number): TensorEntry {
  const entry = requireObject(raw, file, name);
  if (entry.dtype !== 'float32') throw formatError(file, "dtype 'float32'", `${name}.dtype`, entry.dtype);
  const shape = requireShape(entry.shape, file, `${name}.shape`, Math.floor(dataBytes / FLOAT32_BYTES));
  const offset = requireInteger(entry.offset, file, `${name}.offset`);
  const length = requireInteger(entry.length, file, `${name}.length`);
  if (offset % FLOAT32_BYTES !== 0) throw formatError(file, 'an offset that is a multiple of 4', `${name}.offset`, offset);
  if (length !== shapeSize(shape) * FLOAT32_BYTES) {
    throw formatError(file, `length ${shapeSize(shape) * FLOAT32_BYTES} (shape [${shape.join(', ')}] in float32)`, `${name}.length`, length);
  }
  if (offset + length > dataBytes) {
    throw new RnnError('FORMAT', `${file}: expected ${name} (bytes ${offset}..${offset + length}) inside the ${dataBytes} bytes of tensor data; the file is truncated or the offset is wrong`);
  }
  return { name, shape, offset, length };
}

/** Throws FORMAT when two tensors of the table share bytes. */
export function checkNoOverlap(entries: readonly TensorEntry[], file: string): void {
  const sorted = entries.slice().sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1];
    if (sorted[i].offset < previous.offset + previous.length) {
      throw new RnnError('FORMAT', `${file}: expected tensors not to overlap but ${previous.name} (bytes ${previous.offset}..${previous.offset + previous.length}) overlaps ${sorted[i].name} (from byte ${sorted[i].offset})`);
    }
  }
}

/**
 * Copies a validated tensor out of `data` (little-endian float32) into a fresh, aligned Float32Array; the copy
 * also keeps the returned weights independent of the file buffer.
 */
export function copyFloat32(data: Uint8Array, entry: TensorEntry): Float32Array {
  const out = new Float32Array(entry.length / FLOAT32_BYTES);
  const bytes = new Uint8Array(out.buffer);
  bytes.set(data.subarray(entry.offset, entry.offset + entry.length));
  if (!LITTLE_ENDIAN) swapBytes32(bytes);
  return out;
}

/** Little-endian bytes of a Float32Array (a view when the platform is little-endian, else a swapped copy). */
export function float32Bytes(values: Float32Array): Uint8Array {
  const view = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN) return view;
  const copy = Uint8Array.from(view);
  swapBytes32(copy);
  return copy;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swapBytes32(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i];
    const b = bytes[i + 1];
    bytes[i] = bytes[i + 3];
    bytes[i + 1] = bytes[i + 2];
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}
