/**
 * How many threads one batch may use. A batch of at least 16 samples is split into that many shards (at least 8
 * samples each) that run forward and backward on their own threads; their gradients add up to the whole batch's.
 * The threads sleep between the two joins of a batch, so a busy second core slows a batch down instead of
 * collapsing it. Default: RNNKIT_THREADS when set, else 1. Results depend on the thread count only through float
 * rounding of the gradient sum (and dropout masks, which are drawn per shard).
 */
import { RnnError } from './errors';
import { loadNative } from './native';
import { checkInteger } from './validate';

let initialised = false;

function ensureInitialised(): void {
  if (initialised) return;
  initialised = true;
  const fromEnv = process.env.RNNKIT_THREADS;
  if (fromEnv !== undefined && fromEnv !== '') {
    const threads = Number(fromEnv);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new RnnError('ARGUMENT', `Expected RNNKIT_THREADS to be an integer in [1, 256] but received "${fromEnv}"`);
    }
    loadNative().setThreads(threads);
  }
}

/** Sets the number of threads a batch may use (1..256). */
export function setThreads(threads: number): void {
  ensureInitialised();
  loadNative().setThreads(checkInteger(threads, 'threads', { min: 1, max: 256 }));
}

/** The number of threads a batch may use. */
export function getThreads(): number {
  ensureInitialised();
  return loadNative().getThreads();
}

/** Applies RNNKIT_THREADS once, before the first network is built. @internal */
export function applyThreadEnvironment(): void {
  ensureInitialised();
}
