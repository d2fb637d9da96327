// Class-balanced sampling for the transfer demos' "N labelled examples" arms.
'use strict';
const rk = require('../..');

/**
 * Row indices of `n` examples with labels `labels` (class ids 0..classes-1), the same number per class (the remainder
 * spread over the first classes), drawn without replacement with `seed`, returned in a seeded random order.
 */
function balancedRows(labels, n, seed, classes) {
  const rng = new rk.Random(seed);
  const byClass = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const chosen = [];
  byClass.forEach((rows, label) => {
    const want = Math.floor(n / classes) + (label < n % classes ? 1 : 0);
    if (want > rows.length) throw new Error(`Only ${rows.length} examples of class ${label} for a sample of ${n}`);
    rng.shuffle(rows);
    chosen.push(...rows.slice(0, want));
  });
  rng.shuffle(chosen);
  return chosen;
}

module.exports = { balancedRows };
