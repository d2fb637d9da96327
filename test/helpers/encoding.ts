/** Small encodings shared by the sequence tests (addition_rnn, lstm_seq2seq). */

/** A row of `size` zeros with a 1 at `index`. */
export function oneHot(index: number, size: number): number[] {
  const row = new Array<number>(size).fill(0);
  row[index] = 1;
  return row;
}

/** The index k in [0, size) of the largest `values[from + k]` (the first one on ties). */
export function argmax(values: ArrayLike<number>, from: number, size: number): number {
  let best = 0;
  for (let k = 1; k < size; k++) if (values[from + k] > values[from + best]) best = k;
  return best;
}
