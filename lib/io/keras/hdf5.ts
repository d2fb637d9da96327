/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly; it reads and writes). h5wasm ships as ES modules
 * only, plus one self-contained script (`dist/iife/h5wasm.js`, the wasm inlined) that defines `var h5wasm`; rnnkit
 * is CommonJS and its tests run under jest, where neither `require()` of an ES module nor `import()` works, so that
 * script is evaluated once, lazily, on the first Keras load or save. The library keeps its files in its own
 * in-memory file system: a file to read is copied in from bytes rnnkit already read (ConfinedReader, within the
 * load's budget), so HDF5 can never read beyond it, and a file written is copied out as bytes.
 *
 * Every HDF5 failure on untrusted bytes (bad signature, truncated, a link to nowhere) becomes a FORMAT RnnError.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RnnError } from '../../errors';

/** The parts of the h5wasm API rnnkit uses. */
interface H5Attribute { value: unknown; dtype: unknown; shape: number[] | null }
interface H5Entity { type: string; attrs: Record<string, H5Attribute>; create_attribute(name: string, data: unknown, shape?: number[] | null, dtype?: string | null): void }
/** An HDF5 group. @internal */
export interface H5Group extends H5Entity {
  keys(): string[];
  get(name: string): H5Group | H5Dataset | null;
  create_group(name: string): H5Group;
  create_dataset(args: { name: string; data: unknown; shape?: number[]; dtype?: string }): H5Dataset;
}
/** An HDF5 dataset. @internal */
export interface H5Dataset extends H5Entity {
  dtype: unknown;
  shape: number[] | null;
  metadata: { type: number; size: number; littleEndian: boolean; vlen: boolean };
  value: unknown;
}
interface H5File extends H5Group { close(): number }
interface H5Module { FS: { writeFile(p: string, d: Uint8Array): void; readFile(p: string): Uint8Array; unlink(p: string): void }; activate_throwing_error_handler(): number }
interface H5Wasm { File: new (name: string, mode: string, options?: { libver?: string | [string, string] }) => H5File; ready: Promise<H5Module> }

let loading: Promise<{ lib: H5Wasm; module: H5Module }> | undefined;
let fileCounter = 0;

/** The h5wasm script's path: its package.json `exports` offer only `import`, so it is found by the resolver's paths. */
function scriptPath(): string {
  for (const dir of require.resolve.paths('h5wasm') ?? []) {
    const candidate = path.join(dir, 'h5wasm', 'dist', 'iife', 'h5wasm.js');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new RnnError('IO', "Could not find the h5wasm package (dist/iife/h5wasm.js), which rnnkit needs to read and write Keras files; reinstall rnnkit's dependencies");
}

async function h5wasm(): Promise<{ lib: H5Wasm; module: H5Module }> {
  if (!loading) {
    loading = (async () => {
      const source = await fs.promises.readFile(scriptPath(), 'utf8');
      // The script is h5wasm's own bundle: it declares `var h5wasm` and nothing global.
      const lib = new Function(`${source}\nreturn h5wasm;`)() as H5Wasm;
      const module = await lib.ready;
      module.activate_throwing_error_handler(); // HDF5 errors throw instead of printing to stderr
      return { lib, module };
    })();
    loading.catch(() => { loading = undefined; });
  }
  return loading;
}

/** The first line of an HDF5 error (the library's messages carry a whole stack). */
function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const minor = lines.find((l) => l.startsWith('minor:'));
  return (minor ?? lines[0] ?? 'unknown error').slice(0, 200);
}

/**
 * Opens `bytes` as an HDF5 file and hands its root group to `read`; the file is closed and removed from h5wasm's
 * memory afterwards. HDF5 failures become FORMAT errors naming `label`; RnnErrors raised by `read` pass unchanged.
 */
export async function readHdf5<T>(bytes: Uint8Array, label: string, read: (root: H5Group) => T): Promise<T> {
  const { lib, module } = await h5wasm();
  const name = `/rnnkit_read_${process.pid}_${fileCounter++}.h5`;
  module.FS.writeFile(name, bytes);
  let file: H5File | undefined;
  try {
    try {
      file = new lib.File(name, 'r');
    } catch (error) {
      throw new RnnError('FORMAT', `${label}: expected an HDF5 file but it could not be opened (${reason(error)})`);
    }
    return read(file);
  } catch (error) {
    if (error instanceof RnnError) throw error;
    throw new RnnError('FORMAT', `${label}: expected a readable HDF5 file but reading it failed (${reason(error)})`);
  } finally {
    try { file?.close(); } catch { /* the file is removed below either way */ }
    module.FS.unlink(name);
  }
}

/** Builds a new HDF5 file with `write` and returns its bytes. */
export async function writeHdf5(write: (root: H5Group) => void): Promise<Uint8Array> {
  const { lib, module } = await h5wasm();
  const name = `/rnnkit_write_${process.pid}_${fileCounter++}.h5`;
  // The earliest file-format bounds, as h5py writes by default (superblock 0): readable by every HDF5 Keras uses.
  const file = new lib.File(name, 'w', { libver: ['earliest', 'latest'] });
  try {
    write(file);
  } finally {
    file.close();
  }
  try {
    return module.FS.readFile(name).slice();
  } finally {
    module.FS.unlink(name);
  }
}

/** The group at `p` below `group`, walked one name at a time; undefined when a name is missing, FORMAT if one is not a group. */
export function childGroup(group: H5Group, p: string, label: string): H5Group | undefined {
  let current = group;
  for (const name of p.split('/').filter((part) => part.length > 0)) {
    if (!current.keys().includes(name)) return undefined;
    const entity = current.get(name);
    if (!entity) return undefined;
    if (entity.type !== 'Group') throw new RnnError('FORMAT', `${label}: expected a group at '${p}' but '${name}' is a ${entity.type}`);
    current = entity as H5Group;
  }
  return current;
}

/** A float32 copy of the float dataset `name` in `group` with its shape; anything else is a FORMAT error. */
export function readFloatDataset(group: H5Group, name: string, label: string, maxElements: number): { shape: number[]; values: Float32Array } {
  const entity = group.keys().includes(name) ? group.get(name) : null;
  if (!entity || entity.type !== 'Dataset') throw new RnnError('FORMAT', `${label}: expected a dataset '${name}' but ${entity ? `found a ${entity.type}` : 'there is none'}`);
  const dataset = entity as H5Dataset;
  const meta = dataset.metadata;
  // h5wasm metadata.type is the HDF5 class: 1 = H5T_FLOAT.
  if (meta.type !== 1 || (meta.size !== 4 && meta.size !== 8) || meta.vlen) {
    throw new RnnError('FORMAT', `${label}: expected float32 or float64 values in '${name}' but its type is ${JSON.stringify(dataset.dtype)}`);
  }
  const shape = dataset.shape ?? [];
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isSafeInteger(d) && d > 0) || count > maxElements) {
    throw new RnnError('FORMAT', `${label}: expected a shape of at most ${maxElements} elements for '${name}' but received [${shape.join(', ')}]`);
  }
  // A scalar dataset (shape (), e.g. Attention's scale) reads as a plain number.
  const value = dataset.value as ArrayLike<number> | number;
  const raw = typeof value === 'number' ? [value] : value;
  if (!raw || raw.length !== count) throw new RnnError('FORMAT', `${label}: expected ${count} values in '${name}' but read ${raw ? raw.length : 'none'}`);
  const values = Float32Array.from(raw);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RnnError('FORMAT', `${label}: expected finite values in '${name}' but element ${i} is ${values[i]}`);
  }
  return { shape, values };
}

/** A string attribute (or an array of strings) of `entity`, undefined when absent. */
export function readStringAttribute(entity: H5Entity, name: string, label: string): string | string[] | undefined {
  const attrs = entity.attrs;
  if (!Object.prototype.hasOwnProperty.call(attrs, name)) return undefined;
  const value = attrs[name].value;
  const decode = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    throw new RnnError('FORMAT', `${label}: expected a string in attribute '${name}' but received ${typeof v}`);
  };
  return Array.isArray(value) ? value.map(decode) : decode(value);
}
