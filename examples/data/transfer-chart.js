// The transfer demos' comparison as a chart: test accuracy per arm and label count, mean with a ±1 sample standard
// deviation bar over the seeds, as a Vega-Lite spec that rk.plots.writeSvg renders (`--plot out.svg`).
'use strict';
const { meanAndSpread } = require('./results-table');

/** results[n][arm] = accuracies over seeds (as compareArms resolves); `what` labels the x axis. */
function comparisonSpec(size, arms, results, title, what) {
  const values = [];
  for (const n of size.labelCounts) {
    for (const arm of arms) {
      const { mean, std } = meanAndSpread(results[n][arm]);
      values.push({ labels: `N=${n}`, arm, mean, low: mean - std, high: mean + std });
    }
  }
  const x = { field: 'labels', type: 'nominal', sort: size.labelCounts.map((n) => `N=${n}`), title: what, axis: { labelAngle: 0 } };
  const color = { field: 'arm', type: 'nominal', sort: arms, title: null, legend: { orient: 'bottom', columns: 2 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `test accuracy, mean and ±1 sample standard deviation over ${size.seeds} seeds` },
    width: 560,
    height: 260,
    data: { values },
    encoding: { x, xOffset: { field: 'arm', sort: arms }, color },
    layer: [
      { mark: 'bar', encoding: { y: { field: 'mean', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] } } } },
      {
        mark: { type: 'errorbar', ticks: true, thickness: 1.5 },
        encoding: { y: { field: 'low', type: 'quantitative', title: 'test accuracy' }, y2: { field: 'high' }, color: { value: 'black' } },
      },
    ],
  };
}

module.exports = { comparisonSpec };
