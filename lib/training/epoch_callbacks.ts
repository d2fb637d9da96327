/** Simple per-epoch callbacks: learningRateScheduler, terminateOnNaN and csvLogger. */
import { promises as fs } from 'fs';
import { RnnError } from '../errors';
import { checkBoolean, checkFunction, checkKnownKeys, checkNumber, optionsOrEmpty } from '../validate';
import { BaseCallback } from './callback_base';
import type { Logs } from './history';

/** `(epoch, currentLearningRate) => newLearningRate`, with a 0-based epoch. */
export type LearningRateSchedule = (epoch: number, learningRate: number) => number;

/** Sets the learning rate at the start of every epoch from a schedule function (Keras `LearningRateScheduler`). */
export class LearningRateScheduler extends BaseCallback {
  private readonly schedule: LearningRateSchedule;

  /** Throws an `ARGUMENT` RnnError when `schedule` is not a function. */
  constructor(schedule: LearningRateSchedule) {
    super();
    this.schedule = checkFunction<LearningRateSchedule>(schedule, 'learningRateScheduler schedule');
  }

  /** Sets the learning rate the schedule returns for this epoch. */
  onEpochBegin(epoch: number): void {
    const optimizer = this.requireModel().optimizer;
    const learningRate = this.schedule(epoch, optimizer.learningRate);
    optimizer.learningRate = checkNumber(learningRate, `the learning rate returned by the schedule for epoch ${epoch}`, {
      min: 0,
    });
  }
}

/** Stops training as soon as a batch (or epoch) reports a NaN or infinite `loss` (Keras `TerminateOnNaN`). */
export class TerminateOnNaN extends BaseCallback {
  /** Stops training when this batch's loss is not finite. */
  onBatchEnd(batch: number, logs?: Logs): void {
    this.check(logs, `Batch ${batch}`);
  }

  /** Stops training when this epoch's loss is not finite. */
  onEpochEnd(epoch: number, logs?: Logs): void {
    this.check(logs, `Epoch ${epoch + 1}`);
  }

  private check(logs: Logs | undefined, where: string): void {
    const loss = logs?.loss;
    if (typeof loss === 'number' && !Number.isFinite(loss)) {
      const model = this.requireModel();
      if (!model.stopTraining) console.warn(`rnnkit: ${where}: loss is ${loss}, terminating training.`);
      model.stopTraining = true;
    }
  }
}

/** Options of {@link CsvLogger}. */
export interface CsvLoggerOptions {
  /** Column separator. Default ','. */
  separator?: string;
  /** Append to an existing file (writing the header only if it is empty) instead of overwriting it. Default false. */
  append?: boolean;
}

/**
 * Writes one CSV row per epoch: a 0-based `epoch` column (as in Keras) then every key of the first epoch's logs,
 * sorted. Keys missing from a later epoch are written as `NA`.
 */
export class CsvLogger extends BaseCallback {
  private readonly path: string;
  private readonly separator: string;
  private readonly append: boolean;
  private keys: string[] | undefined;
  private needsHeader = true;

  /** Validates the path and options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(path: string, options?: CsvLoggerOptions) {
    super();
    if (typeof path !== 'string' || path.length === 0) {
      throw new RnnError('ARGUMENT', `Expected a non-empty file path for csvLogger but received ${typeof path}`);
    }
    const o = optionsOrEmpty(options, 'csvLogger options');
    checkKnownKeys(o, ['separator', 'append'], 'csvLogger options');
    const separator = o.separator ?? ',';
    if (typeof separator !== 'string' || separator.length === 0 || /["\r\n]/.test(separator)) {
      throw new RnnError('ARGUMENT', 'Expected a non-empty separator without quotes or newlines for csvLogger');
    }
    this.path = path;
    this.separator = separator;
    this.append = checkBoolean(o.append ?? false, 'append');
  }

  /** Empties the file, or with `append` checks whether it needs a header. */
  async onTrainBegin(): Promise<void> {
    this.keys = undefined;
    if (this.append) {
      this.needsHeader = (await this.existingSize()) === 0;
    } else {
      await this.write(() => fs.writeFile(this.path, ''));
      this.needsHeader = true;
    }
  }

  /** Appends this epoch's row (and the header before the first one). */
  async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const values = logs ?? {};
    if (this.keys === undefined) this.keys = Object.keys(values).sort();
    let text = '';
    if (this.needsHeader) {
      text += this.row(['epoch', ...this.keys.map((k) => this.quote(k))]);
      this.needsHeader = false;
    }
    text += this.row([String(epoch), ...this.keys.map((k) => (typeof values[k] === 'number' ? String(values[k]) : 'NA'))]);
    await this.write(() => fs.appendFile(this.path, text));
  }

  private row(cells: string[]): string {
    return `${cells.join(this.separator)}\n`;
  }

  /** CSV quoting for keys that contain the separator or quotes. */
  private quote(key: string): string {
    return key.includes(this.separator) || /["\r\n]/.test(key) ? `"${key.replace(/"/g, '""')}"` : key;
  }

  private async existingSize(): Promise<number> {
    try {
      return (await fs.stat(this.path)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new RnnError('IO', `csvLogger cannot read ${this.path}: ${(e as Error).message}`);
    }
  }

  private async write(operation: () => Promise<void>): Promise<void> {
    try {
      await operation();
    } catch (e) {
      throw new RnnError('IO', `csvLogger cannot write ${this.path}: ${(e as Error).message}`);
    }
  }
}
