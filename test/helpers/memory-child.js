/**
 * Child process for test/memory.test.ts: builds and drops `cycles` compiled LSTM(512) models (about 18 MB of native
 * memory each: weights, gradients, Adam's two slots), with or without model.dispose(), yielding to the event loop
 * every 10 models as a server does between requests, and never calling gc(). Prints JSON: the peak RSS in MB and the
 * time taken. Stops early (exit 3) once RSS passes 1.5 GB, so a regression fails fast instead of exhausting the machine.
 *
 *   node memory-child.js <transpile cache dir> <drop|dispose> <cycles>
 */
'use strict';
const [cacheDir, mode, cyclesArg] = process.argv.slice(2);
const rk = require('./ts-require').loadRnnkit(cacheDir);

async function main() {
  const cycles = Number(cyclesArg);
  const start = Date.now();
  let peak = 0;
  for (let i = 0; i < cycles; i++) {
    const model = rk.sequential();
    model.add(rk.layers.lstm({ units: 512, inputShape: [4, 32], kernelInitializer: 'zeros', recurrentInitializer: 'zeros' }));
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    if (mode === 'dispose') model.dispose();
    if (i % 10 === 9) {
      await new Promise((resolve) => setImmediate(resolve));
      peak = Math.max(peak, process.memoryUsage().rss);
      if (peak > 1.5 * 2 ** 30) {
        process.stdout.write(`${JSON.stringify({ peakMb: Math.round(peak / 2 ** 20), stoppedAt: i + 1 })}\n`);
        process.exit(3);
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ peakMb: Math.round(peak / 2 ** 20), ms: Date.now() - start })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
