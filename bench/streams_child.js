'use strict';
/**
 * Child process of the streams section (bench/streams.js): one-step streaming of the W1 model for N concurrent
 * streams. The rnnkit child measures, at its thread count and in alternating windows (paired ratios):
 *   pool      rk.streams(model): every stream calls pool.step at once; the pool batches them (maxBatch 1024)
 *   oneByOne  the same steps through the same pool, each awaited before the next is given
 *   onnx      onnxruntime-node, the model exported by rk.onnx.toBytes(model, { stateInputs: true }): all N streams
 *             batched into one session.run [N, 1, F] with the LSTM's h and c passed in and out
 *   predict   rnnkit predictOnBatch of one step [N, 1, F] (no state kept): the batch-N predict rate of one step
 * The tfjs-wasm child measures a stateful tfjs model (stateful: true, batchInputShape [N, 1, F]) predicting one step
 * of all N streams per call: what a tfjs user would write (one model per stream would be N calls per step).
 * The job comes as a JSON argument; records go back over IPC.
 */
const { performance } = require('perf_hooks');
const { loadWorkloads } = require('./workloads');
const { initialWeights } = require('./initial_weights');
const { makeBatch } = require('./data');
const { errorText } = require('./measure_workload');
const { summarize, percentile } = require('./stats');

/** Windows per method: full run R rounds of about W s after one warm-up window; quick: one tiny round. */
const STREAM_SETTINGS = {
  full: { rounds: 5, windowSeconds: 0.4, warmupSeconds: 0.15 },
  quick: { rounds: 1, windowSeconds: 0.03, warmupSeconds: 0.01 },
};
const CHECK_STREAMS = 4;
const CHECK_STEPS = 3;

/** Steps of W1 as [count, F] rows: stream s feeds row s at every step (the values only need to be fixed). */
function stepRows(workload, count, seed) {
  return makeBatch({ ...workload, T: 1 }, count, seed).x;
}

/**
 * Step latencies of one method: the last `size` values in a preallocated ring, so that recording a step costs the
 * same at every N (a growing array would charge the pool, which records N latencies per call, for its growth).
 */
class LatencyRing {
  constructor(size = 1 << 17) {
    this.values = new Float64Array(size);
    this.count = 0;
  }

  push(ms) {
    this.values[this.count % this.values.length] = ms;
    this.count++;
  }

  recorded() {
    return this.values.subarray(0, Math.min(this.count, this.values.length));
  }
}

/** Runs `once` (which performs some steps, records their latencies and returns how many) until `seconds` have passed. */
async function window(once, seconds, latencies = new LatencyRing(1024)) {
  let steps = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  do steps += await once(latencies); while (performance.now() < end);
  return { steps, seconds: (performance.now() - start) / 1000 };
}

/** The rnnkit child's methods for N streams: name -> async (latencies) => steps done. */
function rnnkitMethods(ctx, N) {
  const { F, rows, pool, onnx, predictModel, rk } = ctx;
  const ids = Array.from({ length: N }, (_, s) => `s${s}`);
  const inputs = ids.map((_, s) => rows.subarray(s * F, (s + 1) * F));
  let next = 0;
  const x1 = rk.tensor(rows.subarray(0, N * F), [N, 1, F]);
  const methods = {
    pool: async (latencies) => {
      const pending = new Array(N);
      for (let s = 0; s < N; s++) {
        const t0 = performance.now();
        pending[s] = pool.step(ids[s], inputs[s]).then(() => { latencies.push(performance.now() - t0); });
      }
      await Promise.all(pending);
      return N;
    },
    oneByOne: async (latencies) => {
      const s = next;
      next = (next + 1) % N;
      const t0 = performance.now();
      await pool.step(ids[s], inputs[s]);
      latencies.push(performance.now() - t0);
      return 1;
    },
    predict: async (latencies) => {
      const t0 = performance.now();
      await predictModel.predictOnBatch(x1);
      latencies.push(performance.now() - t0);
      return N;
    },
  };
  if (!onnx) return methods;
  const ortInput = new onnx.ort.Tensor('float32', rows.subarray(0, N * F), [N, 1, F]);
  let feeds = onnx.zeroFeeds(N);
  methods.onnx = async (latencies) => {
    const t0 = performance.now();
    const out = await onnx.session.run({ [onnx.inputName]: ortInput, ...feeds });
    feeds = onnx.nextFeeds(out);
    latencies.push(performance.now() - t0);
    return N;
  };
  return methods;
}

/** The tfjs-wasm method for N streams: a stateful model with batchInputShape [N, 1, F], one predict per step. */
function tfjsMethods(ctx, N) {
  const { tf, F, rows } = ctx;
  const model = ctx.statefulModel(N);
  const x = tf.tensor3d(rows.subarray(0, N * F), [N, 1, F]);
  return {
    'tfjs-wasm': async (latencies) => {
      const t0 = performance.now();
      const out = model.predictOnBatch(x);
      await out.data();
      out.dispose();
      latencies.push(performance.now() - t0);
      return N;
    },
    release: () => { x.dispose(); model.dispose(); },
  };
}

/** Alternating windows of every method for N streams; emits one 'stream' record per method and 'streamPair's. */
async function measureCount(methods, N, settings, base, send) {
  const names = Object.keys(methods).filter((k) => k !== 'release');
  for (const name of names) await window(methods[name], settings.warmupSeconds);
  const perMethod = Object.fromEntries(names.map((n) => [n, { rates: [], latencies: new LatencyRing() }]));
  const ratios = {};
  for (let round = 0; round < settings.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const rate = {};
    for (const name of order) {
      const w = await window(methods[name], settings.windowSeconds, perMethod[name].latencies);
      rate[name] = w.steps / w.seconds;
      perMethod[name].rates.push(rate[name]);
    }
    if (rate.pool) {
      for (const other of names.filter((n) => n !== 'pool')) (ratios[other] = ratios[other] || []).push(rate.pool / rate[other]);
    }
  }
  for (const name of names) {
    const m = perMethod[name];
    send({
      type: 'stream', ...base, method: name, streams: N, stepsPerSec: summarize(m.rates),
      latencyMs: { p50: percentile(m.latencies.recorded(), 50), p99: percentile(m.latencies.recorded(), 99), n: m.latencies.recorded().length, of: m.latencies.count },
      rounds: settings.rounds, windowSeconds: settings.windowSeconds, loadavg: require('os').loadavg().map((v) => Number(v.toFixed(2))),
    });
  }
  for (const [other, values] of Object.entries(ratios)) {
    send({ type: 'streamPair', ...base, streams: N, over: other, ratio: summarize(values), rounds: settings.rounds });
  }
  if (methods.release) methods.release();
}

/** rnnkit: the W1 model, its pool, its ONNX export with state inputs, and a T=1 copy for the predict reference. */
async function rnnkitContext(workload, job) {
  const rk = require('..');
  const { buildRnnkitModel } = require('./rnnkit_runner');
  const { sessionOptions } = require('./onnx_runner');
  rk.setThreads(job.threads);
  const model = buildRnnkitModel(rk, workload, job.seed);
  const predictModel = buildRnnkitModel(rk, { ...workload, T: 1 }, job.seed);
  predictModel.setWeights(model.getWeights());
  const pool = rk.streams(model, { maxBatch: 1024 });
  const info = { rnnkit: require('../package.json').version, threads: rk.getThreads(), ...rk.backendInfo() };
  if (!job.withOnnx) return { rk, model, predictModel, pool, info, F: workload.F };
  const ort = require('onnxruntime-node');
  info.onnxruntime = require('onnxruntime-node/package.json').version;
  const session = await ort.InferenceSession.create(rk.onnx.toBytes(model, { stateInputs: true }), sessionOptions(job.threads));
  const inputName = session.inputNames[0];
  const stateNames = session.inputNames.slice(1);  // <layer>_h_in, <layer>_c_in
  const units = workload.layers[0].units;
  const onnx = {
    ort, session, inputName,
    zeroFeeds: (N) => Object.fromEntries(stateNames.map((n) => [n, new ort.Tensor('float32', new Float32Array(N * units), [N, 1, units])])),
    nextFeeds: (out) => Object.fromEntries(stateNames.map((n) => [n, out[n.replace(/_in$/, '_out')]])),
  };
  return { rk, model, predictModel, onnx, pool, info, F: workload.F };
}

/** The outputs of CHECK_STEPS steps of CHECK_STREAMS streams from zero state, per method (same weights check). */
async function rnnkitCheck(ctx, rows) {
  const { pool, onnx, F } = ctx;
  const N = CHECK_STREAMS;
  let last = [];
  for (let t = 0; t < CHECK_STEPS; t++) {
    last = await Promise.all(Array.from({ length: N }, (_, s) => pool.step(`check${s}`, rows.subarray(s * F, (s + 1) * F))));
  }
  const poolOut = last.flatMap((o) => Array.from(o.dataSync()));
  for (let s = 0; s < N; s++) await pool.end(`check${s}`);
  if (!onnx) return { pool: poolOut };
  let feeds = onnx.zeroFeeds(N);
  let out;
  for (let t = 0; t < CHECK_STEPS; t++) {
    out = await onnx.session.run({ [onnx.inputName]: new onnx.ort.Tensor('float32', rows.slice(0, N * F), [N, 1, F]), ...feeds });
    feeds = onnx.nextFeeds(out);
  }
  return { pool: poolOut, onnx: Array.from(out[onnx.session.outputNames[0]].data) };
}

/** tfjs-wasm: stateful models of the W1 layers built per batch size, from the bench's shared initial weights. */
async function tfjsContext(workload, job) {
  const tf = require('@tensorflow/tfjs');
  require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error("Expected tfjs backend 'wasm' to initialise but setBackend returned false");
  await tf.ready();
  const weights = initialWeights(workload, job.seed);
  const [layer] = workload.layers;
  const statefulModel = (N) => {
    const model = tf.sequential();
    model.add(tf.layers.lstm({
      units: layer.units, stateful: true, batchInputShape: [N, 1, workload.F], activation: 'tanh', recurrentActivation: 'sigmoid',
      kernelInitializer: 'glorotUniform', recurrentInitializer: 'zeros', biasInitializer: 'zeros', unitForgetBias: true,
    }));
    model.add(tf.layers.dense({ units: workload.C, activation: 'softmax' }));
    model.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
    return model;
  };
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const info = { tfjs: tf.version.tfjs, wasmSimd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), wasmThreads: wasm.getThreadsCount() };
  return { tf, statefulModel, info, F: workload.F };
}

async function tfjsCheck(ctx, rows) {
  const model = ctx.statefulModel(CHECK_STREAMS);
  const x = ctx.tf.tensor3d(rows.slice(0, CHECK_STREAMS * ctx.F), [CHECK_STREAMS, 1, ctx.F]);
  let values;
  for (let t = 0; t < CHECK_STEPS; t++) {
    const out = model.predictOnBatch(x);
    values = Array.from(await out.data());
    out.dispose();
  }
  x.dispose();
  model.dispose();
  return { 'tfjs-wasm': values };
}

/** RSS over job.rssSteps pool steps of 64 concurrent streams: samples at the start, every tenth, and the end. */
async function measureRss(ctx, rows, job, send) {
  const N = 64;
  const methods = rnnkitMethods({ ...ctx, rows }, N);
  const latencies = new LatencyRing(4096);
  const rounds = Math.ceil(job.rssSteps / N);
  const samples = [];
  const sample = (round) => {
    const m = process.memoryUsage();
    samples.push({ steps: round * N, rssMB: m.rss / 2 ** 20, heapUsedMB: m.heapUsed / 2 ** 20, externalMB: m.external / 2 ** 20 });
  };
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    if (round % Math.max(1, Math.floor(rounds / 10)) === 0) sample(round);
    await methods.pool(latencies);
  }
  sample(rounds);
  send({
    type: 'streamRss', streams: N, steps: rounds * N, threads: ctx.info.threads, seconds: (performance.now() - started) / 1000,
    samples, stats: ctx.pool.stats(), loadavg: require('os').loadavg().map((v) => Number(v.toFixed(2))),
  });
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  const send = (record) => process.send({ backend: job.backend, ...record });
  const settings = STREAM_SETTINGS[job.mode];
  try {
    const workload = loadWorkloads(job.workloadsFile).find((w) => w.id === job.workloadId);
    const rows = stepRows(workload, Math.max(...job.counts, CHECK_STREAMS), job.seed);
    const ctx = job.backend === 'rnnkit' ? await rnnkitContext(workload, job) : await tfjsContext(workload, job);
    send({ type: 'streamBackend', threads: job.threads, info: ctx.info });
    if (job.rssSteps) {
      await measureRss(ctx, rows, job, send);
    } else {
      send({ type: 'streamCheck', threads: job.threads, outputs: job.backend === 'rnnkit' ? await rnnkitCheck(ctx, rows) : await tfjsCheck(ctx, rows) });
      for (const N of job.counts) {
        const methods = job.backend === 'rnnkit' ? rnnkitMethods({ ...ctx, rows }, N) : tfjsMethods({ ...ctx, rows }, N);
        await measureCount(methods, N, settings, { threads: job.threads, workload: workload.id }, send);
      }
    }
    if (ctx.pool) await ctx.pool.close();
  } catch (error) {
    send({ type: 'failed', workload: job.workloadId, measure: 'streams', error: errorText(error) });
  }
  process.send({ backend: job.backend, type: 'streamDone', maxRssMB: process.resourceUsage().maxRSS / 1024 }, () => process.exit(0));
}

main();
