/** A callback that draws the learning curves of a fit (loss and metrics per epoch) to an SVG file when fit ends. */
import { RnnError } from '../errors';
import { curvesSpec } from '../plot/learning_curves';
import { vegaModules, writeSvg } from '../plot/vega';
import { checkKnownKeys, describeValue, optionsOrEmpty } from '../validate';
import { BaseCallback } from './callback_base';
import type { Logs } from './history';

/** Options of {@link PlotCallback}. */
export interface PlotOptions {
  /** Chart title. Default 'Learning curves'. */
  title?: string;
}

/**
 * Records every epoch's logs and, when fit ends (also after a stop or an error), writes their chart to `path`: one
 * panel per metric, training and validation as two lines. Needs the optional packages vega and vega-lite; without them
 * fit rejects with a `DEPENDENCY` error before the first epoch, not after the last.
 */
export class PlotCallback extends BaseCallback {
  private readonly path: string;
  private readonly title: string;
  private epochs: number[] = [];
  private logs: Logs[] = [];

  /** Validates the path and options eagerly; throws an `ARGUMENT` RnnError naming the bad one. */
  constructor(path: string, options?: PlotOptions) {
    super();
    if (typeof path !== 'string' || path.length === 0) {
      throw new RnnError('ARGUMENT', `Expected a non-empty file path for plot but received ${describeValue(path)}`);
    }
    const o = optionsOrEmpty(options, 'plot options');
    checkKnownKeys(o, ['title'], 'plot options');
    const title = o.title ?? 'Learning curves';
    if (typeof title !== 'string') throw new RnnError('ARGUMENT', `Expected a string for title but received ${describeValue(title)}`);
    this.path = path;
    this.title = title;
  }

  /** Forgets the previous fit's epochs and loads vega, so a missing package stops fit before it trains. */
  async onTrainBegin(): Promise<void> {
    this.epochs = [];
    this.logs = [];
    await vegaModules();
  }

  /** Keeps a copy of this epoch's logs. */
  onEpochEnd(epoch: number, logs?: Logs): void {
    this.epochs.push(epoch);
    this.logs.push({ ...logs });
  }

  /** Writes the chart of every recorded epoch. */
  async onTrainEnd(): Promise<void> {
    await writeSvg(curvesSpec(this.epochs, this.logs, { title: this.title }), this.path);
  }
}
