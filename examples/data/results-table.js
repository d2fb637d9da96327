// The results table the transfer demos print: accuracy mean ± sample standard deviation per arm and label count.
'use strict';

function meanAndSpread(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** results[n][arm] = accuracies over seeds; `what` names the test set in the footer. */
function printTable(size, arms, results, header, what) {
  const cell = (values) => {
    const { mean, std } = meanAndSpread(values);
    return `${mean.toFixed(3)} ± ${std.toFixed(3)}`;
  };
  const widths = [8, ...arms.map((a) => Math.max(a.length, 13))];
  const row = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`\n${header}`);
  console.log(row(['labels', ...arms]));
  console.log(row(widths.map((w) => '-'.repeat(w))));
  for (const n of size.labelCounts) console.log(row([`N=${n}`, ...arms.map((arm) => cell(results[n][arm]))]));
  console.log(`(${what}, mean ± sample standard deviation over ${size.seeds} seeds)`);
}

module.exports = { meanAndSpread, printTable };
