/**
 * The container of rnnkit's single-file model format (little-endian throughout):
 *
 *   bytes 0..8     magic "\x89RNNKIT\n" (the high byte and the newline catch 7-bit and text-mode copies)
 *   bytes 8..12    u32 format version
 *   bytes 12..16   u32 header length H
 *   bytes 16..16+H UTF-8 JSON header (what it holds: model_file.ts)
 *   zero padding to a multiple of 8
 *   tensor data: raw float32 values; the header gives each tensor's offset and length within this section
 *
 * This file only frames and unframes; it knows nothing about models.
 */
import { RnnError } from '../errors';
import { parseUntrustedJson } from './validation';

export const MAGIC = Uint8Array.from([0x89, 0x52, 0x4e, 0x4e, 0x4b, 0x49, 0x54, 0x0a]);
/** Version written by this release; readers accept exactly the versions they know. */
export const FORMAT_VERSION = 1;
const PREAMBLE_BYTES = 16;
const DATA_ALIGNMENT = 8;
/** A header larger than this is not a model header (real ones are a few KB); refuse before decoding it. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** Rounds up to the data alignment. */
export function alignData(offset: number): number {
  return Math.ceil(offset / DATA_ALIGNMENT) * DATA_ALIGNMENT;
}

/** True when the bytes start with the rnnkit magic. */
export function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

/** The chunks of a file holding `header` (serialised here) followed by `data` (already laid out by the caller). */
export function encodeContainer(header: unknown, data: readonly Uint8Array[]): Uint8Array[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  preamble.set(MAGIC, 0);
  preamble.writeUInt32LE(FORMAT_VERSION, 8);
  preamble.writeUInt32LE(json.length, 12);
  const padding = Buffer.alloc(alignData(PREAMBLE_BYTES + json.length) - (PREAMBLE_BYTES + json.length));
  return [preamble, json, padding, ...data];
}

/** The parsed (untrusted) header and the tensor data section of a file; throws FORMAT for a malformed frame. */
export function decodeContainer(bytes: Uint8Array, file: string): { header: unknown; data: Uint8Array } {
  if (bytes.length < PREAMBLE_BYTES || !hasMagic(bytes)) {
    throw new RnnError('FORMAT', `${file}: expected an rnnkit model file (magic \\x89RNNKIT\\n) but the first bytes differ or the file has ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new RnnError('FORMAT', `${file}: expected format version ${FORMAT_VERSION} but received ${version}` +
      (version > FORMAT_VERSION ? ' (saved by a newer rnnkit; upgrade to read it)' : ''));
  }
  const headerBytes = view.getUint32(12, true);
  if (headerBytes > MAX_HEADER_BYTES || PREAMBLE_BYTES + headerBytes > bytes.length) {
    throw new RnnError('FORMAT', `${file}: expected a header length of at most ${Math.min(MAX_HEADER_BYTES, bytes.length - PREAMBLE_BYTES)} bytes but received ${headerBytes}; the file is truncated or corrupt`);
  }
  const dataStart = alignData(PREAMBLE_BYTES + headerBytes);
  if (dataStart > bytes.length) {
    throw new RnnError('FORMAT', `${file}: expected the tensor data to start at byte ${dataStart} but the file has ${bytes.length} bytes; it is truncated`);
  }
  for (let i = PREAMBLE_BYTES + headerBytes; i < dataStart; i++) {
    if (bytes[i] !== 0) throw new RnnError('FORMAT', `${file}: expected zero padding after the header but byte ${i} is ${bytes[i]}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerBytes));
  } catch {
    throw new RnnError('FORMAT', `${file}: expected the header to be UTF-8 text but it holds invalid byte sequences`);
  }
  const header = parseUntrustedJson(text, file, 'the header');
  return { header, data: bytes.subarray(dataStart) };
}
