// Many concurrent streams through one model with rk.streams: throughput and step latency as the number of streams
// grows, against the same steps awaited one by one. Model: the bench's W1 shape (LSTM 128 over 28 features, a dense
// softmax head). Frames are a synthetic signal (a sine per stream with noise); weights are untrained: the timing
// does not depend on them. Run after `npm run build`:  node examples/streams.js [steps per stream] [threads]
'use strict';
const rk = require('..');

const F = 28;
const STEPS = Number(process.argv[2] || 50);

function frame(stream, t) {
  const x = new Float32Array(F);
  for (let k = 0; k < F; k++) x[k] = Math.sin(0.1 * t * (1 + (stream % 7)) + k) + 0.01 * ((stream * 31 + t * 17 + k) % 13);
  return x;
}

async function run(model, streams, oneByOne) {
  const pool = rk.streams(model, { maxBatch: 1024 });
  const start = process.hrtime.bigint();
  if (oneByOne) {
    for (let t = 0; t < STEPS; t++) for (let s = 0; s < streams; s++) await pool.step(s, frame(s, t));
  } else {
    // Every stream sends its next frame as soon as its previous result is back.
    await Promise.all(Array.from({ length: streams }, async (_, s) => {
      for (let t = 0; t < STEPS; t++) await pool.step(s, frame(s, t));
    }));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const stats = pool.stats();
  await pool.close();
  return { steps: streams * STEPS, rate: (streams * STEPS) / seconds, ...stats };
}

async function main() {
  if (process.argv[3]) rk.setThreads(Number(process.argv[3]));
  rk.setSeed(1);
  const model = rk.sequential({ layers: [
    rk.layers.lstm({ units: 128, inputShape: [null, F] }),
    rk.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  console.log(`W1-shaped model (LSTM 128, F ${F}), ${STEPS} steps per stream, threads ${rk.getThreads()}`);
  console.log('streams  mode        steps/s   batches  mean batch  p50 ms  p99 ms');
  for (const streams of [1, 8, 64, 256, 1024]) {
    for (const oneByOne of [false, true]) {
      if (oneByOne && streams > 64) continue; // one by one is the slow baseline: measured up to 64 streams
      const r = await run(model, streams, oneByOne);
      console.log(`${String(streams).padStart(7)}  ${(oneByOne ? 'one-by-one' : 'concurrent').padEnd(10)} ${r.rate.toFixed(0).padStart(9)} ${String(r.batches).padStart(8)} ${r.meanBatch.toFixed(1).padStart(11)} ${r.p50Ms.toFixed(2).padStart(7)} ${r.p99Ms.toFixed(2).padStart(7)}`);
    }
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
