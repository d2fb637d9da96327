/**
 * Crash-safe file replacement and checked reads. A save writes a temporary file next to the target, fsyncs it,
 * renames it over the target and fsyncs the directory: rename is atomic within a file system, so a reader (or a
 * process killed mid-save) sees either the previous complete file or the new complete file, never a mix. The
 * directory fsync makes the rename itself durable across a power loss. File-system errors become IO errors that
 * name the path.
 */
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { RnnError } from '../errors';

/** An IO RnnError naming the path and the operation. */
export function ioError(operation: string, file: string, error: unknown): RnnError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  return new RnnError('IO', `Could not ${operation} '${file}'${code ? ` (${code})` : ''}: ${reason}`);
}

/**
 * Writes `chunks` to `target` atomically (see the file comment). The temp file is removed on any failure; one left by
 * a process killed mid-save (SIGKILL, power loss) is removed by the next save to the same target.
 */
export async function writeFileAtomic(target: string, chunks: readonly Uint8Array[]): Promise<void> {
  const absolute = path.resolve(target);
  const directory = path.dirname(absolute);
  await removeStaleTemporaries(directory, path.basename(absolute));
  // Same directory, so the rename never crosses file systems; the random part keeps concurrent saves apart.
  const temporary = path.join(directory, `.${path.basename(absolute)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temporary, 'wx', 0o644);
    for (const chunk of chunks) await writeAll(handle, chunk);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temporary, absolute);
  } catch (error) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.unlink(temporary).catch(() => undefined);
    throw ioError('write', target, error);
  }
  await syncDirectory(directory);
}

/** A temp file older than this whose process is gone is a leftover (the age guards saves from other hosts). */
export const STALE_TEMPORARY_MS = 60_000;

/**
 * Removes `.<name>.<pid>.<hex>.tmp` files in `directory` whose process no longer exists here and that are older than
 * STALE_TEMPORARY_MS. Best effort: a file that cannot be listed, inspected or removed is left alone.
 */
async function removeStaleTemporaries(directory: string, name: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(directory);
  } catch {
    return;  // a missing directory fails the save itself, with a clear error
  }
  const prefix = `.${name}.`;
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith('.tmp')) continue;
    const match = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(entry.slice(prefix.length));
    if (!match || processExists(Number(match[1]))) continue;
    const file = path.join(directory, entry);
    try {
      if (Date.now() - (await fs.stat(file)).mtimeMs > STALE_TEMPORARY_MS) await fs.unlink(file);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function processExists(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';  // EPERM: it exists, owned by someone else
  }
}

async function writeAll(handle: fs.FileHandle, chunk: Uint8Array): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written);
    written += bytesWritten;
  }
}

/** fsync of a directory entry list; some platforms (Windows) cannot open directories, which is not an error there. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') {
      throw ioError('sync the directory', directory, error);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The whole file, or an IO RnnError naming it. */
export async function readFileChecked(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    throw ioError('read', file, error);
  }
}

/** 'file', 'directory', or an IO RnnError naming the path (missing, unreadable, or something else). */
export async function pathKind(file: string): Promise<'file' | 'directory'> {
  let stats;
  try {
    stats = await fs.stat(file);
  } catch (error) {
    throw ioError('open', file, error);
  }
  if (stats.isDirectory()) return 'directory';
  if (stats.isFile()) return 'file';
  throw new RnnError('IO', `Could not open '${file}': expected a file or a directory`);
}

/** Creates `directory` (and parents) if missing. */
export async function ensureDirectory(directory: string): Promise<void> {
  try {
    await fs.mkdir(directory, { recursive: true });
  } catch (error) {
    throw ioError('create the directory', directory, error);
  }
}

/** The size of a file in bytes, or an IO RnnError naming it. */
export async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch (error) {
    throw ioError('open', file, error);
  }
}
