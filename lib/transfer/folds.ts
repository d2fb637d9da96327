/**
 * Row bookkeeping shared by rk.fineTune's model selection and the linear probe: class ids of targets, stratified
 * k-fold splits, and taking rows of tensors.
 */
import { Random } from '../random';
import { gatherRows, Tensor } from '../tensor';

/** Rows `rows` of `t` as a new tensor. */
export function takeRows(t: Tensor, rows: readonly number[]): Tensor {
  return new Tensor(gatherRows(t, rows), [rows.length, ...t.shape.slice(1)]);
}

/**
 * The class of every row of classification targets (sparse ids [N] / [N, 1], or one-hot / probabilities [N, C]: the
 * argmax), or undefined for anything else (regression targets, sequences), which then get plain random folds.
 */
export function classIds(y: Tensor, classification: boolean): Int32Array | undefined {
  if (!classification || y.shape.length > 2) return undefined;
  const rows = y.shape[0];
  const width = y.shape.length === 2 ? y.shape[1] : 1;
  const ids = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    if (width === 1) {
      ids[r] = Math.round(y.data[r]);
      continue;
    }
    let best = 0;
    for (let c = 1; c < width; c++) if (y.data[r * width + c] > y.data[r * width + best]) best = c;
    ids[r] = best;
  }
  return ids;
}

/**
 * Held-out rows of each of `folds` folds over `rows` (indices into the data), sorted. With class ids the folds are
 * stratified: each class's rows are shuffled and dealt to the folds in turn, continuing the turn across classes, so
 * every fold holds about the same share of every class and the fold sizes differ by at most one.
 */
export function stratifiedFolds(rows: readonly number[], folds: number, rng: Random, ids?: Int32Array): number[][] {
  const groups = new Map<number, number[]>();
  for (const row of rows) {
    const key = ids ? ids[row] : 0;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(row);
  }
  const held: number[][] = Array.from({ length: folds }, () => []);
  let turn = 0;
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const group = groups.get(key)!;
    rng.shuffle(group);
    for (const row of group) held[turn++ % folds].push(row);
  }
  return held.map((fold) => fold.sort((a, b) => a - b));
}

/** The rows of `rows` not in `held`. */
export function complement(rows: readonly number[], held: readonly number[]): number[] {
  const out = new Set(held);
  return rows.filter((r) => !out.has(r));
}
