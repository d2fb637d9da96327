#!/usr/bin/env node
'use strict';
/**
 * Cross-domain transfer on synthesised speech (log-mel frames, 32 time steps of 24 bands, see data/speech-domains.js).
 *
 * Domain A: the spoken digits "zero".."nine" by 16 voice variants x 8 English accents: an LSTM classifier is trained
 *           on them once.
 * Domain B: ten command words (yes no up down left right on off stop go) by OTHER voice variants, with only N
 *           labelled examples drawn from 8 variants; scored on 640 clips of 8 further variants never used anywhere.
 * Four ways to get a B classifier, with the same number of optimizer steps on the same labelled examples:
 *
 *   from scratch          a fresh LSTM trained on the N examples
 *   fine-tune all         rk.transfer (new 10-way head), then every layer trained
 *   linear probe          rk.transfer, then rk.fineTune strategy 'probe' (the recurrent layer as it is, the new head
 *                         fitted to convergence on its features)
 *   rk.fineTune default   rk.transfer, then rk.fineTune's default (a recipe chosen by cross-validation)
 *
 * --cross-modal adds a control (demo 3): a character-level LSTM trained on the digit words' SPELLINGS (text, 27-wide
 * one-hot input) is carried to the speech task with inputAdapter 'reinitialize': its input kernel cannot carry over
 * (27 vs 24 features), only the recurrent kernel and bias do. Arms "text -> fine-tune all" and
 * "text -> rk.fineTune default", next to "speech recurrent only": the speech model with its input kernel re-initialised
 * the same way, which shows what recurrent weights alone can carry when they do come from speech.
 *
 * Usage:  node examples/speech-transfer.js [--quick | --full] [--cross-modal]   (or RNNKIT_DEMO_SIZE; default quick)
 * Needs espeak-ng and sox (apt-get install espeak-ng sox). The first run synthesises ~2,600 clips (a few minutes
 * on 2 cores) and caches their features in examples/generated/; later runs start training at once.
 * Run `npm run build` first: the example loads the package the way a user would.
 */
const { printTable, compareArms } = require('./data/results-table');
const rk = require('..');
const { loadSpeechDomains, sampleBalanced, spelledWords, DIGITS, COMMANDS, FRAMES } = require('./data/speech-domains');

const SIZES = {
  // About a minute on 2 cores once the clips are cached (--cross-modal adds about half).
  quick: { units: 64, sourceEpochs: 25, labelCounts: [50, 100, 500], seeds: 3, steps: 300, minEpochs: 5, batchSize: 16, textEpochs: 5 },
  // The README's table: a longer-trained source, 5 seeds, twice the steps (a few minutes).
  full: { units: 64, sourceEpochs: 40, labelCounts: [50, 100, 500], seeds: 5, steps: 600, minEpochs: 5, batchSize: 16, textEpochs: 8 },
};
const CLASSES = 10;
const BANDS = 24;
const LOSS = { loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] };

/** Each arm: which source model (speech, text or none), and whether rk.fineTune trains it (and with which strategy). */
const ARMS = {
  'from scratch': { source: 'none' },
  'fine-tune all': { source: 'speech' },
  'linear probe': { source: 'speech', fineTune: true, strategy: 'probe' },
  'rk.fineTune default': { source: 'speech', fineTune: true },
};
const CROSS_MODAL_ARMS = {
  'text -> fine-tune all': { source: 'text' },
  'text -> rk.fineTune default': { source: 'text', fineTune: true },
  // What the recurrent weights alone carry when they come from speech: the speech model with its input kernel
  // re-initialised, trained like the text arms. It separates "recurrent-only transfer" from "text as the source".
  'speech recurrent only -> rk.fineTune default': { source: 'speech', recurrentOnly: true, fineTune: true },
};

function chooseSize(argv, env) {
  const flag = argv.find((a) => a === '--quick' || a === '--full');
  const name = flag ? flag.slice(2) : env.RNNKIT_DEMO_SIZE || 'quick';
  if (!SIZES[name]) throw new Error(`Unknown size '${name}': use --quick, --full or RNNKIT_DEMO_SIZE=quick|full`);
  return { name, ...SIZES[name] };
}

function buildClassifier(name, units, features) {
  const model = rk.sequential({ name });
  model.add(rk.layers.lstm({ name: 'lstm', units, inputShape: [FRAMES, features] }));
  model.add(rk.layers.dense({ name: 'classes', units: CLASSES, activation: 'softmax' }));
  return model;
}

/** Trains a source classifier, printing one line per epoch. */
async function trainSource(model, train, epochs, label) {
  model.compile({ optimizer: 'adam', ...LOSS });
  await model.fit(train.x, train.y, {
    epochs, batchSize: 32, verbose: 0, seed: 1,
    callbacks: [{ onEpochEnd: (epoch, logs) => console.log(`  ${label} epoch ${epoch + 1}/${epochs}: loss ${logs.loss.toFixed(3)}, accuracy ${logs.accuracy.toFixed(3)}`) }],
  });
  return model;
}

/** The B model an arm starts from: fresh, or transferred from the speech or the text source. */
function startingModel(arm, sources, size) {
  if (arm.source === 'none') return buildClassifier('commands', size.units, BANDS);
  const head = { units: CLASSES, activation: 'softmax' };
  if (arm.source === 'speech') {
    const { model } = rk.transfer(sources.speech, { head });
    if (arm.recurrentOnly) {
      // Weights in Keras order [kernel, recurrent_kernel, bias]: a fresh kernel, the transferred rest.
      const [freshKernel] = buildClassifier('fresh', size.units, BANDS).getLayer('lstm').getWeights();
      const lstm = model.getLayer('lstm');
      lstm.setWeights([freshKernel, ...lstm.getWeights().slice(1)]);
    }
    return model;
  }
  return rk.transfer(sources.text, { head, inputShape: [FRAMES, BANDS], inputAdapter: 'reinitialize' }).model;
}

/** Trains one arm on the labelled examples and returns its accuracy on the domain-B test set. */
async function runArm(arm, sources, labelled, testSet, epochs, size, seed) {
  rk.setSeed(seed);
  const model = startingModel(arm, sources, size);
  if (arm.fineTune) {
    // The probe solves to convergence: it takes no epoch budget.
    const budget = arm.strategy === 'probe' ? { strategy: 'probe' } : { epochs };
    await rk.fineTune(model, labelled.x, labelled.y, { optimizer: 'adam', ...LOSS, batchSize: size.batchSize, verbose: 0, seed, ...budget });
  } else {
    model.compile({ optimizer: 'adam', ...LOSS });
    await model.fit(labelled.x, labelled.y, { epochs, batchSize: size.batchSize, verbose: 0, seed });
  }
  return (await model.evaluate(testSet.x, testSet.y, { batchSize: 320 })).accuracy;
}


/** The character-level source of the cross-modal control, trained on spelled digit words; returns it and its accuracy. */
async function trainTextSource(size) {
  rk.setSeed(2025);
  const train = spelledWords(DIGITS, 3000, 7);
  const test = spelledWords(DIGITS, 500, 8);
  const model = await trainSource(buildClassifier('spellings', size.units, train.x.shape[2]), train, size.textEpochs, 'text source');
  return { model, accuracy: (await model.evaluate(test.x, test.y, { batchSize: 250 })).accuracy };
}

async function main() {
  const argv = process.argv.slice(2);
  const size = chooseSize(argv, process.env);
  const crossModal = argv.includes('--cross-modal');
  const arms = crossModal ? { ...ARMS, ...CROSS_MODAL_ARMS } : ARMS;
  const armNames = Object.keys(arms);
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  console.log(`rnnkit speech transfer demo (${size.name}): spoken digits -> command words, LSTM ${size.units}, backend ${rk.backendInfo().simd}`);
  console.log('Synthesising (or loading cached) clips with espeak-ng + sox ...');
  const data = await loadSpeechDomains((line) => console.log(line));
  console.log(`Data: ${data.a.train.x.shape[0]} digit clips (domain A; ${data.a.test.x.shape[0]} held out), ${data.b.pool.x.shape[0]} command clips to draw labels from, ` +
    `${data.b.test.x.shape[0]} test command clips by unseen voices; commands ${COMMANDS.join(' ')} (${seconds()} s)`);

  console.log(`Training the source model on spoken digits (${size.sourceEpochs} epochs) ...`);
  rk.setSeed(2024);
  const speech = await trainSource(buildClassifier('digits', size.units, BANDS), data.a.train, size.sourceEpochs, 'source');
  const sourceAccuracy = (await speech.evaluate(data.a.test.x, data.a.test.y, { batchSize: 320 })).accuracy;
  console.log(`Source model: ${sourceAccuracy.toFixed(3)} accuracy on digits by 2 held-out voice variants (${seconds()} s)`);
  const sources = { speech };
  if (crossModal) {
    console.log(`Training the text source on spelled digit words (${size.textEpochs} epochs, 27-wide one-hot letters) ...`);
    const text = await trainTextSource(size);
    sources.text = text.model;
    console.log(`Text source: ${text.accuracy.toFixed(3)} accuracy on held-out noisy spellings (${seconds()} s)`);
    console.log("\nWhat rk.transfer carries from the text model (inputAdapter: 'reinitialize'):");
    console.log(rk.transfer(text.model, { head: { units: CLASSES }, inputShape: [FRAMES, BANDS], inputAdapter: 'reinitialize' }).report.toString());
  }
  console.log('\nWhat rk.transfer carries over from the speech model (freeze: true):');
  console.log(rk.transfer(speech, { head: { units: CLASSES }, freeze: true }).report.toString());

  const results = await compareArms(size, armNames, (n, seed) => sampleBalanced(data.b.pool, n, 100 * n + seed),
    (arm, labelled, epochs, seed) => runArm(arms[arm], sources, labelled, data.b.test, epochs, size, seed), seconds);
  printTable(size, armNames, results,
    `Command words by unseen voices from N labelled clips: LSTM ${size.units}, batch ${size.batchSize}, the same steps per arm, ` +
    `source trained ${size.sourceEpochs} epochs on spoken digits (${sourceAccuracy.toFixed(3)})${crossModal ? '; text -> arms are the cross-modal CONTROL' : ''}`,
    'accuracy on the unseen test voices');
  console.log(`Total time ${seconds()} s`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
