/**
 * Reading the files of a model being loaded, confined and bounded. A model file is untrusted input, and what it
 * lists (tfjs weightsManifest paths) must not reach beyond it:
 *
 * - The model folder is the real directory (fs.realpath) of the file the caller names; the caller's own path may
 *   go through symlinks. Every file the model lists is resolved with realpath too, symlinks included, and refused
 *   unless it lies inside that folder: `weights.bin -> ../elsewhere/secret.bin` is refused.
 * - Only regular files: each is opened with O_NONBLOCK and checked with fstat on the open handle (no race between
 *   the check and the read), so a FIFO or a device is refused instead of blocking the event loop forever.
 * - Each real file at most once per load: a manifest that lists one weights file 3,000 times is refused instead of
 *   read 3,000 times.
 * - A total-bytes budget for the whole load, stated before anything is read (`loadModel(path, { maxBytes })`,
 *   default {@link DEFAULT_LOAD_BUDGET_BYTES}); sizes are checked against it before each read.
 */
import { constants, promises as fs } from 'fs';
import * as path from 'path';
import { RnnError } from '../errors';
import { ioError } from './atomic_write';

/** The default budget of one load: 2 GiB, far above any model rnnkit is meant for. */
export const DEFAULT_LOAD_BUDGET_BYTES = 2 ** 31;

/** One load's reads: its folder, the files read so far, and the bytes left in its budget. */
export class ConfinedReader {
  private readonly seen = new Set<string>();
  private remaining: number;

  private constructor(readonly folder: string, readonly budget: number) {
    this.remaining = budget;
  }

  /** A reader for the model whose top file is `file` (the folder is that file's real directory). */
  static async forFile(file: string, budget: number): Promise<ConfinedReader> {
    const real = await realpathOf(file);
    return new ConfinedReader(path.dirname(real), budget);
  }

  /**
   * The whole content of `file` (the caller's own path, or one resolved from the model's folder), after the checks
   * of the file comment. `label` names the file in FORMAT errors (e.g. 'weightsManifest[0].paths[1]').
   */
  async read(file: string, label: string, listedBy?: string): Promise<Buffer> {
    const opened = await this.open(file, label, listedBy);
    try {
      return await opened.read(0, opened.size);
    } finally {
      await opened.close();
    }
  }

  /**
   * `file` opened for reads of its parts, after the same checks as {@link read}: for formats whose header says where
   * the rest is, so the header is checked against the file's size before the rest is read. Each read is checked
   * against the budget first. The caller closes it.
   */
  async open(file: string, label: string, listedBy?: string): Promise<ConfinedFile> {
    const real = await realpathOf(file);
    if (listedBy !== undefined && !real.startsWith(this.folder + path.sep)) {
      throw new RnnError('FORMAT', `${listedBy}: expected ${label} to be a file inside the model's folder ${this.folder} (symlinks are resolved) but '${file}' resolves to '${real}'`);
    }
    if (this.seen.has(real)) {
      throw new RnnError('FORMAT', `${listedBy ?? file}: expected each file to be listed once but ${label} ('${file}') repeats '${real}'`);
    }
    this.seen.add(real);
    let handle: fs.FileHandle | undefined;
    try {
      // O_NOFOLLOW: a symlink swapped in after realpath is refused, not followed.
      handle = await fs.open(real, constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOFOLLOW ?? 0));
      const stats = await handle.stat();
      if (!stats.isFile()) {
        throw new RnnError('IO', `Could not read '${file}': expected a regular file but it is ${describeKind(stats)}`);
      }
      const opened = handle;
      handle = undefined;
      return { size: stats.size, read: (offset, length) => this.readPart(opened, file, stats.size, offset, length), close: () => opened.close().catch(() => undefined) };
    } catch (error) {
      if (error instanceof RnnError) throw error;
      throw ioError('read', file, error);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  /** Bytes [offset, offset + length) of an open file whose size was `size` when opened. */
  private async readPart(handle: fs.FileHandle, file: string, size: number, offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new RnnError('FORMAT', `Could not read '${file}': expected a range inside its ${size} bytes but bytes ${offset}..${offset + length} were asked for`);
    }
    if (length > this.remaining) {
      throw new RnnError('MEMORY', `Could not read '${file}': ${length === size ? `it holds ${size} bytes` : `${length} more of its ${size} bytes are needed`} but only ${this.remaining} of the load's budget of ${this.budget} bytes are left (loadModel option maxBytes)`);
    }
    const bytes = Buffer.alloc(length);
    let done = 0;
    try {
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
        if (bytesRead === 0) throw new RnnError('IO', `Could not read '${file}': it shrank from ${size} to ${offset + done} bytes while being read`);
        done += bytesRead;
      }
    } catch (error) {
      if (error instanceof RnnError) throw error;
      throw ioError('read', file, error);
    }
    this.remaining -= length;
    return bytes;
  }
}

/** A file opened by {@link ConfinedReader.open}: its size and bounded reads of its parts. */
export interface ConfinedFile {
  /** The file's size in bytes when it was opened. */
  readonly size: number;
  /** Bytes [offset, offset + length); a range outside the file is a FORMAT error, one beyond the budget MEMORY. */
  read(offset: number, length: number): Promise<Buffer>;
  /** Closes the file. */
  close(): Promise<void>;
}

async function realpathOf(file: string): Promise<string> {
  try {
    return await fs.realpath(file);
  } catch (error) {
    throw ioError('open', file, error);
  }
}

function describeKind(stats: import('fs').Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}
