/**
 * A reader of safetensors files (https://github.com/huggingface/safetensors), the format PyTorch state dicts are
 * shared in without pickle. The layout:
 *
 *   [8 bytes]  N, the header's length, unsigned 64-bit little-endian
 *   [N bytes]  a UTF-8 JSON object: { name: { dtype, shape, data_offsets: [begin, end] }, ..., "__metadata__"?: {..} }
 *              (padded with trailing spaces)
 *   [rest]     the byte buffer: every tensor's values back to back, little-endian, row-major; offsets are relative
 *              to the buffer's start, and the tensors cover it exactly (no holes, no overlap)
 *
 * The file is untrusted: it is read header first (readSafetensors), and every number in the header is checked
 * against the file's real size before the data is read, so a forged or truncated file is a FORMAT error and never a
 * read outside the file. Values decode to
 * float32: F32 as is, F16 and BF16 exactly (every half and bfloat16 value is a float32 value).
 */
import { RnnError } from '../errors';
import type { ConfinedFile } from './confined_read';

/** Element types a safetensors header may name, with their size in bytes. */
const DTYPE_SIZES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** The element types rnnkit decodes (to float32). */
export const SAFETENSORS_FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** The largest header accepted (the reference implementation's limit too): 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file: where its bytes are; decode them with {@link decodeTensor}. */
export interface SafetensorsEntry {
  /** The tensor's name in the state dict, e.g. 'lstm.weight_ih_l0'. */
  readonly name: string;
  /** The element type, e.g. 'F32'. */
  readonly dtype: string;
  /** The tensor's shape, row-major. */
  readonly shape: readonly number[];
  /** Absolute byte offsets of the values in the file: [begin, end). */
  readonly begin: number;
  /** See begin. */
  readonly end: number;
}

/** A parsed safetensors file: its tensors in header order, its metadata, and the bytes of its values. */
export interface SafetensorsFile {
  /** The tensors, in the order the header lists them. */
  readonly tensors: readonly SafetensorsEntry[];
  /** The optional `__metadata__` of string keys and values (empty when absent). */
  readonly metadata: ReadonlyMap<string, string>;
  /** The bytes read from the file, starting at file position `offset` (the whole data part at least). */
  readonly bytes: Buffer;
  /** The file position of bytes[0]. */
  readonly offset: number;
}

type Fail = (what: string) => never;

function failer(file: string): Fail {
  return (what: string): never => {
    throw new RnnError('FORMAT', `${file}: not a valid safetensors file: ${what}`);
  };
}

/** Reads a safetensors file header first: nothing after the header is read until the header fits the file's size. */
export async function readSafetensors(opened: ConfinedFile, file: string): Promise<SafetensorsFile> {
  const fail = failer(file);
  if (opened.size < 8) fail(`expected at least 8 bytes (the header length) but the file has ${opened.size}`);
  const headerEnd = 8 + headerLength(await opened.read(0, 8), opened.size, fail);
  const { tensors, metadata } = parseHeader(await opened.read(8, headerEnd - 8), headerEnd, opened.size, fail);
  return { tensors, metadata, bytes: await opened.read(headerEnd, opened.size - headerEnd), offset: headerEnd };
}

/** Parses and checks a safetensors file held whole in `bytes`; `file` names it in errors. */
export function parseSafetensors(bytes: Buffer, file: string): SafetensorsFile {
  const fail = failer(file);
  if (bytes.length < 8) fail(`expected at least 8 bytes (the header length) but the file has ${bytes.length}`);
  const headerEnd = 8 + headerLength(bytes, bytes.length, fail);
  const { tensors, metadata } = parseHeader(bytes.subarray(8, headerEnd), headerEnd, bytes.length, fail);
  return { tensors, metadata, bytes, offset: 0 };
}

/** The header length in the first 8 bytes, checked against the file's size. */
function headerLength(first: Buffer, fileSize: number, fail: Fail): number {
  const declared = first.readBigUInt64LE(0);
  const limit = Math.min(fileSize - 8, MAX_HEADER_BYTES);
  if (declared < 2n || declared > BigInt(limit)) {
    fail(`expected a header length between 2 and ${limit} bytes (the file has ${fileSize}) but the first 8 bytes say ${declared}`);
  }
  return Number(declared);
}

/** The header's tensors (offsets made absolute and checked against the file's size) and metadata. */
function parseHeader(text: Buffer, headerEnd: number, fileSize: number, fail: Fail): { tensors: SafetensorsEntry[]; metadata: Map<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch (error) {
    fail(`expected a UTF-8 JSON header in bytes 8..${headerEnd} but it does not parse (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('expected the header to be a JSON object');
  const bufferLength = fileSize - headerEnd;
  const metadata = new Map<string, string>();
  const tensors: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('expected __metadata__ to be an object of strings');
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
        if (typeof entry !== 'string') fail(`expected __metadata__['${key}'] to be a string but received ${typeof entry}`);
        metadata.set(key, entry as string);
      }
      continue;
    }
    tensors.push(checkEntry(name, value, headerEnd, bufferLength, fail));
  }
  checkCoverage(tensors, headerEnd, bufferLength, fail);
  return { tensors, metadata };
}

/** One header entry, checked: a known dtype, a shape of non-negative integers, offsets in the buffer that fit it. */
function checkEntry(name: string, value: unknown, headerEnd: number, bufferLength: number, fail: Fail): SafetensorsEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`expected an object for tensor '${name}'`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_SIZES, dtype)) {
    fail(`expected the dtype of tensor '${name}' to be one of ${Object.keys(DTYPE_SIZES).join(', ')} but received ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    fail(`expected the shape of tensor '${name}' to be an array of non-negative integers but received ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0) || offsets[0] > offsets[1]) {
    fail(`expected data_offsets of tensor '${name}' to be [begin, end] with 0 <= begin <= end but received ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (end > bufferLength) {
    fail(`tensor '${name}' ends at byte ${end} of the data but the file holds only ${bufferLength} bytes of data (truncated?)`);
  }
  // The product is checked step by step against the bytes it claims, so a forged shape cannot overflow.
  let bytesNeeded = DTYPE_SIZES[dtype as string];
  for (const d of shape as number[]) {
    bytesNeeded *= d;
    if (bytesNeeded > bufferLength) break;
  }
  if (bytesNeeded !== end - begin) {
    fail(`tensor '${name}' of dtype ${dtype} and shape [${(shape as number[]).join(', ')}] needs ${bytesNeeded} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype: dtype as string, shape: (shape as number[]).slice(), begin: headerEnd + begin, end: headerEnd + end };
}

/** The tensors must tile the byte buffer exactly: no overlap (one byte read as two tensors), no hole, nothing after. */
function checkCoverage(tensors: SafetensorsEntry[], headerEnd: number, bufferLength: number, fail: Fail): void {
  const sorted = tensors.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = headerEnd;
  for (const tensor of sorted) {
    if (tensor.begin < position) {
      fail(`tensor '${tensor.name}' (bytes ${tensor.begin - headerEnd}..${tensor.end - headerEnd} of the data) overlaps the tensor before it, which ends at ${position - headerEnd}`);
    }
    if (tensor.begin > position) fail(`the data has a hole at bytes ${position - headerEnd}..${tensor.begin - headerEnd} before tensor '${tensor.name}'`);
    position = tensor.end;
  }
  if (position !== headerEnd + bufferLength) {
    fail(`the tensors cover ${position - headerEnd} bytes of data but the file holds ${bufferLength} after the header`);
  }
}

/** The values of one tensor as float32 (F32, F16 and BF16; other dtypes are a DTYPE error naming the tensor). */
export function decodeTensor(file: SafetensorsFile, entry: SafetensorsEntry, fileName: string): Float32Array {
  const count = (entry.end - entry.begin) / DTYPE_SIZES[entry.dtype];
  const values = new Float32Array(count);
  const bytes = file.bytes;
  const begin = entry.begin - file.offset;
  if (entry.dtype === 'F32') {
    for (let i = 0; i < count; i++) values[i] = bytes.readFloatLE(begin + 4 * i);
  } else if (entry.dtype === 'F16') {
    for (let i = 0; i < count; i++) values[i] = halfToFloat(bytes.readUInt16LE(begin + 2 * i));
  } else if (entry.dtype === 'BF16') {
    // bfloat16 is the upper half of a float32: shifting the bits back is exact.
    const word = new Uint32Array(values.buffer);
    for (let i = 0; i < count; i++) word[i] = bytes.readUInt16LE(begin + 2 * i) << 16;
  } else {
    throw new RnnError('DTYPE', `${fileName}: expected tensor '${entry.name}' to be one of ${SAFETENSORS_FLOAT_DTYPES.join(', ')} but it is ${entry.dtype}`);
  }
  return values;
}

/** IEEE 754 binary16 -> number, exactly: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals, inf, NaN. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}
