/**
 * How many threads one batch may use. A batch is cut into shards of at least 8 samples: 2n of them with n > 1
 * threads when the batch is large enough, and at any n more (up to max(8, 2n)) to keep shards at 32 samples or fewer.
 * The calling thread and n - 1 sleeping workers take shards from a shared counter, so a thread slowed by a busy
 * core simply takes fewer; their gradients add up to the whole batch's. The cut
 * depends only on the batch size and n, so results are reproducible for a given n and differ between thread
 * counts only by float rounding (and dropout masks, which are drawn per shard). Default: RNNKIT_THREADS when set,
 * else 2 on a machine with at least 2 cores (measured in bench/: faster idle and not slower under load), else 1.
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
