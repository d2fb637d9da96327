/**
 * The verbose = 1 progress display of fit(). On a terminal: a progress bar rewritten in place with '\r', then the
 * epoch summary. Elsewhere (log files, CI): exactly one summary line per epoch.
 */
import { RnnError } from '../errors';
import { checkFunction, checkKnownKeys, optionsOrEmpty } from '../validate';
import { BaseCallback, Callback } from './callback_base';
import type { Logs } from './history';

/** Where progress is written: any writable stream; `isTTY` selects the in-place bar, `columns` caps its width. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Options of {@link progressLogger}. */
export interface ProgressLoggerOptions {
  /** Output stream. Default process.stdout. */
  stream?: ProgressStream;
  /** Clock in milliseconds. Default performance.now. */
  now?: () => number;
}

/** Minimum time between two redraws of the bar, so printing never slows training down. */
const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 20;
/** Batch-log keys that are bookkeeping, not metrics. */
const NOT_METRICS = new Set(['batch', 'size']);

/** Keras' format: 4 decimals, or scientific notation for small magnitudes. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value === 0 || Math.abs(value) > 1e-3 ? value.toFixed(4) : value.toExponential(4);
}

/** Durations as 850ms, 4.2s, 3m 05s or 1h 02m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor(whole / 60) % 60).padStart(2, '0')}m`;
}

/** Rounded, with comma thousands separators (independent of the locale). */
export function formatCount(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

class ProgressLogger extends BaseCallback {
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private epoch = 0;
  private epochStart = 0;
  private batches = 0;
  private samples = 0;
  /** Size-weighted sums of the batch metrics and their weights, for epoch-so-far averages. */
  private sums = new Map<string, { total: number; weight: number }>();
  private lastDraw = -Infinity;
  /** Length of the line currently on screen without a newline (0 when none). */
  private pendingLength = 0;

  constructor(stream: ProgressStream, now: () => number) {
    super();
    this.stream = stream;
    this.now = now;
  }

  private get tty(): boolean {
    return this.stream.isTTY === true;
  }

  onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.epochStart = this.now();
    this.batches = 0;
    this.samples = 0;
    this.sums.clear();
    this.lastDraw = -Infinity;
  }

  onBatchEnd(_batch: number, logs?: Logs): void {
    const size = typeof logs?.size === 'number' ? logs.size : this.params?.batchSize ?? 0;
    this.batches++;
    this.samples += size;
    for (const [key, value] of Object.entries(logs ?? {})) {
      if (NOT_METRICS.has(key) || typeof value !== 'number') continue;
      const sum = this.sums.get(key) ?? { total: 0, weight: 0 };
      // Weighted by batch size so a small last batch counts for what it is.
      const weight = size > 0 ? size : 1;
      sum.total += value * weight;
      sum.weight += weight;
      this.sums.set(key, sum);
    }
    if (!this.tty) return;
    const time = this.now();
    if (time - this.lastDraw < REDRAW_INTERVAL_MS) return;
    this.lastDraw = time;
    this.draw(this.progressLine(time - this.epochStart), false);
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    const elapsed = this.now() - this.epochStart;
    const values = new Map<string, number>();
    for (const [key, sum] of this.sums) values.set(key, sum.total / sum.weight);
    // The fit loop's epoch logs are authoritative; batch averages fill in what they lack.
    for (const [key, value] of Object.entries(logs ?? {})) if (!NOT_METRICS.has(key)) values.set(key, value);
    const parts = [`Epoch ${this.epochLabel(epoch)}`];
    if (this.tty) parts[0] += ` ${this.bar(this.batches)} ${this.stepLabel()}`;
    else parts.push(`${this.batches} batches`);
    parts.push(formatDuration(elapsed), ...this.metricParts(values));
    if (elapsed > 0) parts.push(`${formatCount((this.samples * 1000) / elapsed)} samples/s`);
    this.draw(parts.join(' - '), true);
  }

  onTrainEnd(): void {
    // Training ended mid-epoch (error or stop): keep the partial bar and move to a fresh line.
    if (this.pendingLength > 0) this.stream.write('\n');
    this.pendingLength = 0;
  }

  private progressLine(elapsed: number): string {
    const parts = [`Epoch ${this.epochLabel(this.epoch)} ${this.bar(this.batches)} ${this.stepLabel()}`];
    parts.push(...this.metricParts(new Map([...this.sums].map(([k, s]) => [k, s.total / s.weight]))));
    if (elapsed > 0) parts.push(`${formatCount((this.samples * 1000) / elapsed)} samples/s`);
    const total = this.params?.stepsPerEpoch;
    if (total !== undefined && elapsed > 0 && this.batches < total) {
      parts.push(`ETA ${formatDuration((elapsed / this.batches) * (total - this.batches))}`);
    }
    return parts.join(' - ');
  }

  private draw(line: string, finished: boolean): void {
    if (!this.tty) {
      this.stream.write(`${line}\n`);
      return;
    }
    // A line wider than the terminal wraps, and '\r' would then only rewrite its last row.
    const columns = this.stream.columns;
    const shown = !finished && columns !== undefined && columns > 1 && line.length >= columns
      ? line.slice(0, columns - 1)
      : line;
    const padding = ' '.repeat(Math.max(0, this.pendingLength - shown.length));
    this.stream.write(`\r${shown}${padding}${finished ? '\n' : ''}`);
    this.pendingLength = finished ? 0 : shown.length;
  }

  private metricParts(values: Map<string, number>): string[] {
    return [...values].map(([key, value]) => `${key}: ${formatMetric(value)}`);
  }

  private epochLabel(epoch: number): string {
    const epochs = this.params?.epochs;
    return epochs === undefined ? `${epoch + 1}` : `${epoch + 1}/${epochs}`;
  }

  private stepLabel(): string {
    const total = this.params?.stepsPerEpoch;
    return total === undefined ? `${this.batches}` : `${this.batches}/${total}`;
  }

  private bar(done: number): string {
    const total = this.params?.stepsPerEpoch;
    if (total === undefined || total <= 0) return '';
    if (done >= total) return `[${'='.repeat(BAR_WIDTH)}]`;
    const filled = Math.floor((BAR_WIDTH * done) / total);
    return `[${'='.repeat(filled)}>${'.'.repeat(BAR_WIDTH - filled - 1)}]`;
  }
}

/**
 * The verbose = 1 progress callback. Batch logs should carry `size` (samples in the batch) and per-batch metric
 * values such as `loss`; the bar shows their size-weighted average over the epoch so far. Epoch logs carry the
 * epoch's metrics (e.g. loss, accuracy, val_loss) and take precedence in the summary line.
 */
export function progressLogger(opts?: ProgressLoggerOptions): Callback {
  const o = optionsOrEmpty(opts, 'progressLogger options');
  checkKnownKeys(o, ['stream', 'now'], 'progressLogger options');
  const stream = o.stream ?? process.stdout;
  if (typeof stream !== 'object' || stream === null || typeof stream.write !== 'function') {
    throw new RnnError('ARGUMENT', 'Expected a writable stream for progressLogger stream');
  }
  const now = o.now === undefined ? () => performance.now() : checkFunction<() => number>(o.now, 'now');
  return new ProgressLogger(stream, now);
}
