/**
 * Child process for the crash-safety test of model.save: saves the same model over and over to one path, version k
 * having every weight equal to k, and prints `saved k` once save k has resolved. The parent kills it with SIGKILL at
 * random moments and checks that the file still loads and holds one complete version.
 *
 * Usage: node save-child.js <target path> <transpile cache dir>
 *
 * It runs the TypeScript sources of lib/ directly (not dist/, which may be stale): a require hook transpiles each
 * .ts file once with typescript.transpileModule and caches the output, so later children start quickly.
 */
'use strict';

const [target, cacheDir] = process.argv.slice(2);
if (!target || !cacheDir) {
  console.error('usage: node save-child.js <target path> <transpile cache dir>');
  process.exit(2);
}

const rk = require('./ts-require').loadRnnkit(cacheDir);

async function main() {
  // About 1.3 MB of weights, so a save (write + fsync) takes long enough for kills to land inside it.
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 256, inputShape: [4, 64], kernelInitializer: 'zeros', recurrentInitializer: 'zeros' }));
  model.add(rk.layers.dense({ units: 2, kernelInitializer: 'zeros' }));
  const shapes = model.getWeights().map((w) => w.shape);
  for (let version = 1; ; version++) {
    model.setWeights(shapes.map((shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return new rk.Tensor(new Float32Array(size).fill(version), shape);
    }));
    await model.save(target);
    process.stdout.write(`saved ${version}\n`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
