#!/usr/bin/env node
'use strict';
/**
 * Charts of a transfer suite run: `node bench/transfer/plot.js results.json out-dir` reads what
 * `node bench/transfer/run.js --json results.json` wrote and draws one SVG per task (test accuracy per arm and label
 * count, mean and ±1 sample standard deviation over the seeds), named transfer-<task>.svg. Needs the optional packages
 * vega and vega-lite (rk.plots).
 */
const fs = require('fs');
const path = require('path');
const rk = require('../..');
const { comparisonSpec } = require('../../examples/data/transfer-chart');

async function main() {
  const [input, outDir] = process.argv.slice(2);
  if (!input || !outDir) throw new Error('Usage: node bench/transfer/plot.js results.json out-dir');
  const { options, tasks } = JSON.parse(fs.readFileSync(input, 'utf8'));
  fs.mkdirSync(outDir, { recursive: true });
  for (const task of tasks) {
    const results = {};
    for (const n of options.labels) {
      results[n] = Object.fromEntries(options.arms.map((arm) => [arm, task.results[n][arm].map((run) => run.accuracy)]));
    }
    const size = { labelCounts: options.labels, seeds: options.seeds };
    const spec = comparisonSpec(size, options.arms, results, task.title, 'labelled examples of the target domain');
    const file = path.join(outDir, `transfer-${task.id}.svg`);
    await rk.plots.writeSvg(spec, file);
    console.log(`wrote ${file}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
