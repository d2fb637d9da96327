#!/usr/bin/env node
'use strict';
/**
 * Cross-domain transfer on sequential MNIST (each image read as 28 time steps of 28 pixels).
 *
 * Domain A: digits 0-4, plenty of labels: an LSTM classifier is trained on them once.
 * Domain B: digits 5-9 with only N labelled examples (N = 50, 100, 500, ...). Four ways to get a B classifier, each
 * with the same number of optimizer steps, on the same labelled examples, scored on the same held-out B test set:
 *
 *   from scratch          a fresh LSTM trained on the N examples
 *   fine-tune all         rk.transfer (new 5-way head), then every layer trained
 *   linear probe          rk.transfer, then rk.fineTune strategy 'probe': the recurrent layer stays as it is and the new
 *                         head is fitted to convergence on its features (no step budget: it is a convex problem)
 *   rk.fineTune default   rk.transfer, then rk.fineTune's default (a recipe chosen by cross-validation on the N
 *                         labels: LP-FT unless the probe, L2-SP or scratch does clearly better)
 *
 * Usage:  node examples/mnist-transfer.js [--quick | --full] [--schedules] [--plot out.svg]
 *         (or RNNKIT_DEMO_SIZE=quick|full; default quick)
 * --schedules compares staged schedules (head first, then everything) instead: the measurement behind rk.fineTune's
 * earlier fixed default. The evidence for today's default is the transfer suite, `npm run bench:transfer`.
 * --plot writes the comparison as an SVG chart too (needs the optional packages vega and vega-lite).
 * Run `npm run build` first: the example loads the package the way a user would.
 */
const { printTable, compareArms } = require('./data/results-table');
const { comparisonSpec } = require('./data/transfer-chart');
const rk = require('..');
const { loadDomains, sampleBalanced } = require('./data/mnist-domains');

const SIZES = {
  // About a minute on 2 cores.
  quick: { units: 64, sourceEpochs: 4, labelCounts: [50, 100, 500], seeds: 3, steps: 150, minEpochs: 3, batchSize: 16 },
  // The README's full table.
  full: { units: 64, sourceEpochs: 12, labelCounts: [50, 100, 500, 3000], seeds: 5, steps: 400, minEpochs: 5, batchSize: 16 },
};
const CLASSES = 5;
const LOSS = { loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] };
const BASE_RATE = 0.001; // Adam's default

/** A head-only stage on `headShare` of the epochs at `headRate` x, then every layer at `allRate` x. */
function headThenAll(epochs, headShare, headRate, allRate, patience) {
  const head = Math.max(1, Math.round(epochs * headShare));
  const all = { epochs: epochs - head, freeze: false, learningRate: BASE_RATE * allRate };
  if (patience !== undefined) all.patience = patience;
  return [{ epochs: head, freeze: true, learningRate: BASE_RATE * headRate }, all];
}

/** Each arm: how the B model starts (scratch or transferred) and how it trains. */
const ARMS = {
  'from scratch': { start: 'scratch' },
  'fine-tune all': { start: 'transfer' },
  'linear probe': { start: 'transfer', fineTune: () => ({ strategy: 'probe' }) },
  'rk.fineTune default': { start: 'transfer', fineTune: () => ({}) },
};
/** Staged schedules (--schedules), beside rk.fineTune's default. */
const SCHEDULE_ARMS = {
  'from scratch': { start: 'scratch' },
  'all layers, 1x': { start: 'transfer', fineTune: (e) => ({ stages: [{ epochs: e, freeze: false }] }) },
  'head 30% 3x, all 0.3x': { start: 'transfer', fineTune: (e) => ({ stages: headThenAll(e, 0.3, 3, 0.3) }) },
  'head 30% 3x, all 1x': { start: 'transfer', fineTune: (e) => ({ stages: headThenAll(e, 0.3, 3, 1) }) },
  'same, 20% held out, early stop': {
    start: 'transfer', fineTune: (e) => ({ stages: headThenAll(e, 0.3, 3, 1, 5), validationSplit: 0.2 }),
  },
  'rk.fineTune default': { start: 'transfer', fineTune: () => ({}) },
};

/** The file after --plot, or undefined without the flag. */
function plotPath(argv) {
  const at = argv.indexOf('--plot');
  if (at === -1) return undefined;
  const file = argv[at + 1];
  if (file === undefined || file.startsWith('--')) throw new Error('--plot needs a file name, e.g. --plot transfer.svg');
  return file;
}

function chooseSize(argv, env) {
  const flag = argv.find((a) => a === '--quick' || a === '--full');
  const name = flag ? flag.slice(2) : env.RNNKIT_DEMO_SIZE || 'quick';
  if (!SIZES[name]) throw new Error(`Unknown size '${name}': use --quick, --full or RNNKIT_DEMO_SIZE=quick|full`);
  return { name, ...SIZES[name] };
}

function buildClassifier(units) {
  const model = rk.sequential({ name: 'digits' });
  model.add(rk.layers.lstm({ name: 'lstm', units, inputShape: [28, 28] }));
  model.add(rk.layers.dense({ name: 'classes', units: CLASSES, activation: 'softmax' }));
  return model;
}

async function trainSource(size, domainA) {
  rk.setSeed(2024);
  const source = buildClassifier(size.units);
  source.compile({ optimizer: 'adam', ...LOSS });
  await source.fit(domainA.train.x, domainA.train.y, {
    epochs: size.sourceEpochs, batchSize: 32, verbose: 0, seed: 1,
    callbacks: [{ onEpochEnd: (epoch, logs) => console.log(`  source epoch ${epoch + 1}/${size.sourceEpochs}: loss ${logs.loss.toFixed(3)}, accuracy ${logs.accuracy.toFixed(3)}`) }],
  });
  return source;
}

/** Trains one arm on the labelled examples and returns its accuracy on the domain-B test set. */
async function runArm(arm, source, labelled, testSet, epochs, size, seed) {
  rk.setSeed(seed);
  const model = arm.start === 'scratch' ? buildClassifier(size.units)
    : rk.transfer(source, { head: { units: CLASSES, activation: 'softmax' } }).model;
  if (arm.fineTune) {
    const schedule = arm.fineTune(epochs);
    // Explicit stages carry their own epochs and the probe has none; the other recipes get the budget as `epochs`.
    const budget = schedule.stages || schedule.strategy === 'probe' ? {} : { epochs };
    await rk.fineTune(model, labelled.x, labelled.y, { optimizer: 'adam', ...LOSS, batchSize: size.batchSize, verbose: 0, seed, ...budget, ...schedule });
  } else {
    model.compile({ optimizer: 'adam', ...LOSS });
    await model.fit(labelled.x, labelled.y, { epochs, batchSize: size.batchSize, verbose: 0, seed });
  }
  return (await model.evaluate(testSet.x, testSet.y, { batchSize: 250 })).accuracy;
}


async function main() {
  const size = chooseSize(process.argv.slice(2), process.env);
  const plot = plotPath(process.argv.slice(2));
  const arms = process.argv.includes('--schedules') ? SCHEDULE_ARMS : ARMS;
  const armNames = Object.keys(arms);
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  console.log(`rnnkit transfer demo (${size.name}): sequential MNIST, digits 0-4 -> 5-9, LSTM ${size.units}, backend ${rk.backendInfo().simd}`);
  const data = loadDomains({ testPerDigit: 200 });
  console.log(`Data: ${data.a.train.x.shape[0]} source training digits, ${data.b.pool.x.shape[0]} target digits to draw labels from, ${data.b.test.x.shape[0]} target test digits`);

  console.log(`Training the source model on digits 0-4 (${size.sourceEpochs} epochs) ...`);
  const source = await trainSource(size, data.a);
  const sourceAccuracy = (await source.evaluate(data.a.test.x, data.a.test.y, { batchSize: 250 })).accuracy;
  console.log(`Source model: ${sourceAccuracy.toFixed(3)} accuracy on held-out digits 0-4 (${seconds()} s)`);
  console.log('\nWhat rk.transfer carries over (freeze: true):');
  console.log(rk.transfer(source, { head: { units: CLASSES }, freeze: true }).report.toString());

  const results = await compareArms(size, armNames, (n, seed) => sampleBalanced(data.b.pool, n, 100 * n + seed),
    (arm, labelled, epochs, seed) => runArm(arms[arm], source, labelled, data.b.test, epochs, size, seed), seconds);
  printTable(size, armNames, results,
    `Digits 5-9 from N labelled examples: LSTM ${size.units}, batch ${size.batchSize}, the same steps per arm, source trained ${size.sourceEpochs} epochs on 0-4 (${sourceAccuracy.toFixed(3)})`, 'test accuracy');
  if (plot !== undefined) {
    const title = `Sequential MNIST, digits 0-4 -> 5-9: LSTM ${size.units}, source ${sourceAccuracy.toFixed(3)} on 0-4`;
    await rk.plots.writeSvg(comparisonSpec(size, armNames, results, title, 'labelled examples of digits 5-9'), plot);
    console.log(`Chart written to ${plot}`);
  }
  console.log(`Total time ${seconds()} s`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
