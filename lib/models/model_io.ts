/**
 * How models reach persistence without importing it: lib/io registers its saver here when it loads (lib/index.ts
 * loads it), so the dependency runs one way, io -> models.
 * @internal
 */
import { RnnError } from '../errors';
import type { SaveOptions } from '../io';
import type { Model } from './model';

export type { SaveOptions };

/** What models need from lib/io. */
export interface ModelIo {
  save(model: Model, path: string, options?: SaveOptions): Promise<void>;
}

let registered: ModelIo | undefined;

/** Called once by lib/io. */
export function registerModelIo(io: ModelIo): void {
  registered = io;
}

/** The registered persistence functions. */
export function modelIo(): ModelIo {
  if (!registered) throw new RnnError('STATE', "Expected rnnkit's io module to be loaded (import 'rnnkit', not a file of it) but it is not");
  return registered;
}
