/** The per-epoch record returned by `fit()`. */

/** Metric values by name, e.g. `{ loss: 0.41, accuracy: 0.87, val_loss: 0.45 }`. */
export type Logs = Record<string, number>;

/**
 * Epoch logs collected during training, like Keras' `History`: `history.loss[i]` belongs to `epoch[i]` as long as
 * every epoch reports the key. A key that only some epochs report (e.g. validation every other epoch) gets a
 * shorter list, as in Keras.
 */
export class History {
  /** The (0-based) index of every recorded epoch. */
  epoch: number[] = [];
  /** One list of values per log key, in recording order. */
  history: Record<string, number[]> = {};
  /**
   * Training steps rolled back because their update would have made a weight or optimizer slot non-finite and
   * skipped (fit's `onNonFinite: 'skip'`) or ended training (`'stop'`), with the error that named the weight.
   */
  skippedSteps: Array<{
    /** The (0-based) epoch of the step. */
    epoch: number;
    /** The (0-based) batch of the step within its epoch. */
    batch: number;
    /** The NOT_FINITE error's message, naming the layer and weight. */
    message: string;
  }> = [];

  /** Appends the logs of one epoch. The logs are copied, so later changes to them do not leak in. */
  record(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [key, value] of Object.entries(logs)) {
      if (!Object.prototype.hasOwnProperty.call(this.history, key)) {
        // defineProperty, not assignment: a key named '__proto__' must become data, not a prototype.
        Object.defineProperty(this.history, key, { value: [], enumerable: true, writable: true, configurable: true });
      }
      this.history[key].push(value);
    }
  }
}
