/**
 * What rk.transfer did to every weight of the new model: copied from the source, adapted (part copied, part
 * initialised) or re-initialised, with the reason; plus which layers it froze. `toString()` prints it as a table.
 */

/** The fate of one weight of the new model. */
export type WeightAction = 'copied' | 'adapted' | 'reinitialised';

export interface WeightTransfer {
  /** Layer name in the new model. */
  layer: string;
  /** Weight name within the layer (Keras names: kernel, recurrent_kernel, bias, forward/kernel, ...). */
  weight: string;
  action: WeightAction;
  /** Shape in the new model. */
  shape: number[];
  /** The source layer the values came from (absent when nothing was carried over). */
  sourceLayer?: string;
  /** Shape of the weight in the source (absent when nothing was carried over). */
  sourceShape?: number[];
  /** Why this action, in words. */
  reason: string;
}

function shapeText(shape: readonly number[] | undefined): string {
  return shape ? `[${shape.join(', ')}]` : '-';
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export class TransferReport {
  /** One entry per weight of the new model, in getWeights order. */
  readonly weights: readonly WeightTransfer[];
  /** Names of the layers of the new model that were frozen (trainable = false). */
  readonly frozen: readonly string[];

  constructor(weights: WeightTransfer[], frozen: string[]) {
    this.weights = Object.freeze(weights.map((w) => Object.freeze({ ...w })));
    this.frozen = Object.freeze(frozen.slice());
  }

  /** The entries with one action. */
  byAction(action: WeightAction): WeightTransfer[] {
    return this.weights.filter((w) => w.action === action);
  }

  /** Names of the layers of the new model that received values from the source (copied or adapted). */
  get transferredLayers(): string[] {
    return [...new Set(this.weights.filter((w) => w.action !== 'reinitialised').map((w) => w.layer))];
  }

  /** A fixed-width table: one row per weight, then a line of totals and the frozen layers. */
  toString(): string {
    const header = ['layer/weight', 'action', 'shape', 'from', 'reason'];
    const rows = this.weights.map((w) => [
      `${w.layer}/${w.weight}`,
      w.action,
      shapeText(w.shape),
      w.sourceLayer === undefined ? '-' : `${w.sourceLayer} ${shapeText(w.sourceShape)}`,
      w.reason,
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const format = (cells: string[]) => cells.map((cell, c) => (c === cells.length - 1 ? cell : pad(cell, widths[c]))).join('  ');
    const counts = (['copied', 'adapted', 'reinitialised'] as const).map((a) => `${this.byAction(a).length} ${a}`).join(', ');
    return [
      format(header),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...rows.map(format),
      '',
      `Weights: ${counts}. Frozen layers: ${this.frozen.length === 0 ? 'none' : this.frozen.join(', ')}.`,
    ].join('\n');
  }
}
