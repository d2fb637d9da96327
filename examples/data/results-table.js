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

/**
 * Runs every arm for each label count and seed with the same number of optimizer steps (about size.steps, at least
 * size.minEpochs epochs), printing one line per seed. sample(n, seed) draws the labelled set; runArm(arm, labelled,
 * epochs, seed) trains one arm and resolves with its test accuracy. Resolves with results[n][arm] = accuracies.
 */
async function compareArms(size, armNames, sample, runArm, seconds) {
  const results = {};
  for (const n of size.labelCounts) {
    results[n] = Object.fromEntries(armNames.map((arm) => [arm, []]));
    const stepsPerEpoch = Math.ceil(n / size.batchSize);
    const epochs = Math.max(size.minEpochs, Math.round(size.steps / stepsPerEpoch));
    for (let seed = 1; seed <= size.seeds; seed++) {
      const labelled = sample(n, seed);
      const line = [];
      for (const arm of armNames) {
        const accuracy = await runArm(arm, labelled, epochs, seed);
        results[n][arm].push(accuracy);
        line.push(`${arm} ${accuracy.toFixed(3)}`);
      }
      console.log(`N=${n} seed ${seed}/${size.seeds} (${epochs} epochs = ${epochs * stepsPerEpoch} steps): ${line.join(', ')} (${seconds()} s)`);
    }
  }
  return results;
}

module.exports = { meanAndSpread, printTable, compareArms };
