/**
 * The one error class of rnnkit. Every error thrown by the public API is an {@link RnnError} with a
 * stable {@link RnnErrorCode}, so callers can branch on `err.code` instead of parsing messages.
 */

/**
 * Stable error categories.
 * - `SHAPE`: a tensor or array has the wrong shape or rank.
 * - `DTYPE`: a value has the wrong element type (strings, booleans, objects where numbers are expected).
 * - `NOT_FINITE`: an input contains NaN or Infinity.
 * - `BUSY`: the model is already running an asynchronous operation.
 * - `FORMAT`: a saved file or serialized config is malformed.
 * - `ARGUMENT`: an option or argument is invalid.
 * - `STATE`: the call is not allowed in the current state (e.g. not built, disposed).
 * - `IO`: reading or writing a file failed.
 * - `MEMORY`: a size too large to allocate was asked for (refused before allocating), or an allocation failed.
 * - `NATIVE`: the native addon failed to load or reported an error.
 * - `DEPENDENCY`: an optional package that the feature needs is not installed (e.g. vega for the charts).
 */
export type RnnErrorCode =
  | 'SHAPE'
  | 'DTYPE'
  | 'NOT_FINITE'
  | 'BUSY'
  | 'FORMAT'
  | 'ARGUMENT'
  | 'STATE'
  | 'IO'
  | 'MEMORY'
  | 'NATIVE'
  | 'DEPENDENCY';

/** An error raised by rnnkit, carrying a stable {@link RnnErrorCode}. */
export class RnnError extends Error {
  /** The stable category of the error. */
  readonly code: RnnErrorCode;

  /** An error of category `code`; `message` names what was expected and what was received. */
  constructor(code: RnnErrorCode, message: string) {
    super(message);
    // Restore the prototype chain: when compiled to ES5 `Error` would reset it and break `instanceof`.
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    Object.defineProperty(this, 'name', { value: 'RnnError', enumerable: false, configurable: true, writable: true });
  }
}
