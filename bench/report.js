'use strict';
/**
 * The Markdown summary of a run: machine, GEMM rates, a throughput table, a latency table for inference workloads,
 * peak RSS per backend, and notes (reduced step counts, failures, like-for-like choices).
 */

const { streamsReport, STREAMS_NOTE } = require('./streams');

// Softmax outputs of the same float32 model agree to rounding; a larger difference means the models differ.
const PARITY_TOLERANCE = 1e-4;

function num(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const a = Math.abs(value);
  if (a >= 100) return value.toFixed(0);
  if (a >= 10) return value.toFixed(1);
  if (a >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function spread(s) {
  if (!s) return '–';
  return s.n > 1 ? `${num(s.median)} (${num(s.min)}–${num(s.max)})` : `${num(s.median)} (n=1)`;
}

/** A summary of ratios: '1.62x (1.26–1.73)'. */
function ratioSpread(s) {
  return s.n > 1 ? `${num(s.median)}x (${num(s.min)}–${num(s.max)})` : `${num(s.median)}x (n=1)`;
}

function percent(fraction) {
  return fraction === null || fraction === undefined ? '–' : `${(100 * fraction).toFixed(0)}%`;
}

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function probeText(snapshot) {
  const p = snapshot.busyProbe;
  return `load average ${snapshot.loadavg.join(' / ')} (1/5/15 min); two-thread probe ${p.slowdown}x the one-thread time ` +
    `(${p.oneThreadMs} ms vs ${p.twoThreadsMs.join(', ')} ms; 1.0 = second core free, 2.0 = fully shared)`;
}

function machineSection(run) {
  const m = run.machineStart;
  const rk = m.rnnkit.error ? `rnnkit not loadable: ${m.rnnkit.error}` : `rnnkit ${m.rnnkit.version} (${m.rnnkit.isa}, ${m.rnnkit.simd}, Eigen ${m.rnnkit.eigen}; addon ${m.rnnkit.addon})`;
  const wasm = run.backendInfo['tfjs-wasm'];
  const lines = [
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.platform}, Node ${m.node}; ${rk}; tfjs ${m.tfjs}, tfjs-backend-wasm ${m.tfjsBackendWasm}` +
      (wasm ? ` (wasm SIMD ${wasm.wasmSimd ? 'on' : 'off'}, ${wasm.wasmThreads} thread(s))` : ''),
    `- Date ${m.date}; mode ${run.mode}; workloads ${run.workloadsFile}`,
    `- Start: ${probeText(m)}`,
  ];
  if (run.machineEnd) lines.push(`- End: ${probeText(run.machineEnd)}`);
  if (run.threads) {
    const labels = run.threads.map((t, i) => `${t} (${i === 0 ? 'rnnkit' : `rnnkit-${t}t`})`);
    lines.push(`- rnnkit threads per batch: ${labels.join(', ')}; extra load: ` +
      (run.load ? `${run.load} busy-loop process(es) started by the bench for the whole run (--load ${run.load})` : 'none (--load 0)'));
  }
  return lines.join('\n');
}

function gemmSection(run) {
  const results = [...run.gemm.entries()];
  if (results.length === 0) return '- GEMM rates: not measured (rnnkit is not among the backends)';
  const missing = results.find(([, g]) => !g.available);
  if (missing) return `- ${missing[1].records[0].message}`;
  const perWorkload = results.map(([id, g]) => {
    const rates = [...g.rates.values()].map((r) => `${r.m}x${r.k}x${r.n} ${num(r.gflops)}`);
    return `${id}: ${rates.length ? rates.join(', ') : 'failed (see the notes)'}`;
  });
  const peak = run.gemmPeak
    ? `\n- Multiply-add peak of one core (${run.gemmPeak.lanes} floats per instruction, no memory traffic), measured at ` +
      `the start: ${num(run.gemmPeak.gflops)} GFLOP/s, the ceiling of any kernel`
    : '';
  return '- Eigen GEMM rate, 1 thread, float, GFLOP/s (M x K x N), measured just before each workload\'s rnnkit run: ' +
    `${perWorkload.join('; ')}${peak}`;
}

function find(run, backend, m) {
  return run.measurements.find((o) => o.backend === backend && o.workload === m.workload && o.measure === m.measure && o.batch === m.batch);
}

/**
 * What to show where a measurement is missing: 'failed', 'cut (--quick)', or '–' (not run). `comparison`: the
 * paired thread comparison's cell ('threads') rather than the plain measurement's (undefined).
 */
function missingCell(run, backend, key, comparison) {
  const matches = (o) => o.backend === backend && o.workload === key.workload && o.comparison === comparison &&
    (o.measure === key.measure || ['build', 'setup', 'process'].includes(o.measure));
  if (backend === 'onnx' && key.measure === 'train') return 'n/a (inference only)';
  const failure = run.failures.find(matches);
  // onnx: a layer the exporter cannot write is named in the column, not only in the notes.
  if (failure && backend === 'onnx' && failure.measure === 'build') return `not exported: ${failure.error.replace(/^\w*Error: /, '').slice(0, 160)}`;
  if (failure) return 'failed';
  if (run.skipped.some(matches)) return 'cut (--quick)';
  return '–';
}

/** Table rows in run order: train and predict at B for training workloads, infer at each batch for inference ones. */
function measurementKeys(run, filter) {
  return run.workloads
    .flatMap((w) => (w.kind === 'infer'
      ? w.inferBatches.map((batch) => ({ workload: w.id, measure: 'infer', batch }))
      : ['train', 'predict'].map((measure) => ({ workload: w.id, measure, batch: w.B }))))
    .filter(filter);
}

function throughputTable(run) {
  const others = run.backends.filter((b) => !b.startsWith('rnnkit'));
  const variants = run.backends.filter((b) => b.startsWith('rnnkit-'));  // rnnkit at other thread counts
  const wasm = others.includes('tfjs-wasm');
  const header = ['Workload', 'Measure', 'Batch'];
  if (run.backends.includes('rnnkit')) header.push('rnnkit samples/s (min–max)', 'rnnkit GFLOP/s', 'of GEMM 1024³ / recurrent shape');
  for (const b of others) header.push(`${b} samples/s (min–max)`, `${b} GFLOP/s`);
  if (run.backends.includes('rnnkit')) for (const b of others) header.push(`rnnkit / ${b}`);
  for (const v of variants) {
    header.push(`${v} samples/s (min–max)`, `${v} / rnnkit`, `${v} / rnnkit paired (min–max)`,
      ...(wasm ? [`${v} / tfjs-wasm`] : []));
  }
  header.push('load avg 1 min per backend');
  const rows = measurementKeys(run, () => true).map((key) => {
    const row = [key.workload, key.measure, String(key.batch)];
    const own = find(run, 'rnnkit', key);
    if (run.backends.includes('rnnkit')) {
      const g = own && own.gemmFraction;
      row.push(own ? spread(own.samplesPerSec) : missingCell(run, 'rnnkit', key), own ? num(own.gflops.median) : '–',
        g ? `${percent(g.of1024)} / ${percent(g.ofRecurrentShape)} (${g.recurrentShape})` : '–');
    }
    for (const b of others) {
      const m = find(run, b, key);
      row.push(m ? spread(m.samplesPerSec) : missingCell(run, b, key), m ? num(m.gflops.median) : '–');
    }
    if (run.backends.includes('rnnkit')) {
      for (const b of others) {
        const m = find(run, b, key);
        row.push(own && m ? `${num(own.samplesPerSec.median / m.samplesPerSec.median)}x` : '–');
      }
    }
    for (const v of variants) {
      const m = find(run, v, key);
      const over = (other) => (m && other ? `${num(m.samplesPerSec.median / other.samplesPerSec.median)}x` : '–');
      const paired = run.threadPairs.find((o) => o.backend === v && o.workload === key.workload &&
        o.measure === key.measure && o.batch === key.batch);
      row.push(m ? spread(m.samplesPerSec) : missingCell(run, v, key), over(own),
        paired ? ratioSpread(paired.ratio) : missingCell(run, v, key, 'threads'));
      if (wasm) row.push(over(find(run, 'tfjs-wasm', key)));
    }
    // The load each backend's measurement ran under (JSON: loadavg1), in the order of run.backends.
    row.push(run.backends.map((b) => {
      const m = find(run, b, key);
      return m && m.loadavg1 !== undefined ? `${b} ${m.loadavg1}` : null;
    }).filter(Boolean).join(', ') || '–');
    return row;
  });
  return table(header, rows);
}

function latencyTable(run) {
  const keys = measurementKeys(run, (key) => key.measure === 'infer');
  if (keys.length === 0) return '';
  const header = ['Workload', 'Batch', ...run.backends.map((b) => `${b} latency ms median / p90 (min–max)`)];
  const rows = keys.map((key) => [key.workload, String(key.batch), ...run.backends.map((b) => {
    const m = find(run, b, key);
    if (!m) return missingCell(run, b, key);
    const l = m.latencyMs;
    return `${num(l.median)} / ${num(l.p90)} (${num(l.min)}–${num(l.max)})`;
  })]);
  return table(header, rows);
}

function rssTable(run) {
  const workloads = [...new Set(run.rss.map((r) => r.workload))];
  const header = ['Backend', ...workloads, 'peak'];
  const rows = run.backends.map((b) => {
    const cells = workloads.map((w) => {
      const r = run.rss.find((o) => o.backend === b && o.workload === w);
      return r ? num(r.maxRssMB) : '–';
    });
    const own = run.rss.filter((o) => o.backend === b).map((o) => o.maxRssMB);
    return [b, ...cells, own.length ? num(Math.max(...own)) : '–'];
  });
  return table(header, rows);
}

function notes(run) {
  const lines = [
    'Samples/s: median over timed repetitions (min–max in brackets); training = trainOnBatch steps, predict = predictOnBatch on batch B, ' +
      'infer = one predict call per timed sample. GFLOP/s from the workloads file\'s FLOP model (training = 3x forward).',
    'GRU on both sides uses resetAfter: false, because tfjs only implements that form (rnnkit\'s default is Keras\' resetAfter: true).',
  ];
  lines.push('All backends start from the same initial weights (bench/initial_weights.js: glorotUniform, orthogonal, unit ' +
    'forget bias) set with setWeights; tfjs\'s own orthogonal initializer takes minutes on the cpu backend.');
  const onnx = run.backendInfo.onnx;
  if (onnx) {
    lines.push(`onnx: onnxruntime-node ${onnx.onnxruntime} on ${onnx.threads} thread (intraOpNumThreads ${onnx.threads}, interOpNumThreads 1), ` +
      `running the rnnkit model exported by rnnkit's own exporter (rk.onnx.toBytes, ${onnx.exporter}) from the same weights; inference only.`);
  }
  const agreement = run.parity.map((p) => {
    const diffs = Object.entries(p.maxAbsDiff).map(([b, d]) => `${b} ${d === null ? 'size mismatch' : d.toExponential(1)}${d !== null && d > PARITY_TOLERANCE ? ' MISMATCH' : ''}`);
    const counts = [...new Set(Object.values(p.params))];
    return `${p.workload}: ${diffs.join(', ') || 'no tfjs outputs'}${counts.length > 1 ? ` (parameter counts differ: ${JSON.stringify(p.params)})` : ''}`;
  });
  if (agreement.length) lines.push(`Same model check, max |softmax output − rnnkit's| on 4 samples: ${agreement.join('; ')}`);
  const pairs = run.threadPairs[0];
  if (pairs) {
    lines.push(`Paired thread ratios: the ${pairs.backend} child alternates its own thread count (${pairs.threads[1]}) and ` +
      `rnnkit's (${pairs.threads[0]}) on the same model and batch after its own measurements, in ${pairs.rounds} rounds ` +
      `of two back-to-back windows of about ${pairs.windowSeconds} s each, order swapped every round; the ` +
      'cell is the median (min–max) of the per-round ratios. The plain ratio column divides medians of two child ' +
      'processes run some seconds apart, so drift of the machine between them enters it.');
  }
  for (const m of run.measurements) if (m.note) lines.push(`${m.backend} ${m.workload} ${m.measure}: ${m.note}`);
  if (run.attention && run.attention.length) {
    lines.push('Attention FLOPs per sample (bench/attention.js): dot 4·Tq·Tv·H, additive 6·Tq·Tv·H (a tanh counted as one ' +
      'operation; softmax not counted), train = 3x forward; samples/s are medians of 5 timed trials (rnnkit) or of the ' +
      'timed repetitions (tfjs). The shapes are defined in bench/attention.js: the shared workloads file has no attention entry.');
  }
  for (const a of run.attention || []) if (a.note) lines.push(`${a.backend} ${a.workload} ${a.measure}: ${a.note}`);
  if (run.streams && run.streams.some((r) => r.type === 'stream')) lines.push(`Streams: ${STREAMS_NOTE}`);
  for (const f of run.failures) {
    lines.push(`FAILED ${f.backend} ${f.workload || ''} ${f.measure}${f.comparison ? ' (paired thread comparison)' : ''}: ${f.error}`);
  }
  for (const f of run.skipped) lines.push(`cut ${f.backend} ${f.workload} ${f.measure}: ${f.reason}`);
  return lines.map((l) => `- ${l}`).join('\n');
}

/**
 * Attention workloads (bench/attention.js): rnnkit's native op against the same math in tfjs ops, forward and train
 * (forward + backward), one row each; GFLOP/s from attention.js's FLOP model.
 */
function attentionTable(run) {
  if (!run.attention || run.attention.length === 0) return '';
  const backends = run.backends.filter((b) => b === 'rnnkit' || b.startsWith('tfjs-'));
  const header = ['Workload', 'Measure', ...backends.flatMap((b) => [`${b} samples/s`, `${b} GFLOP/s`])];
  const others = backends.filter((b) => b !== 'rnnkit');
  if (backends.includes('rnnkit')) header.push(...others.map((b) => `rnnkit / ${b}`));
  const keys = [...new Set(run.attention.map((r) => `${r.workload} ${r.measure}`))];
  const rows = keys.map((key) => {
    const [workload, measure] = key.split(' ');
    const get = (b) => run.attention.find((r) => r.backend === b && r.workload === workload && r.measure === measure);
    const row = [workload, measure];
    for (const b of backends) {
      const r = get(b);
      const failed = run.failures.some((f) => f.backend === b && f.workload === workload && f.measure === 'attention');
      row.push(r ? num(r.samplesPerSec) : failed ? 'failed' : '–', r ? num(r.gflops) : '–');
    }
    if (backends.includes('rnnkit')) {
      for (const b of others) {
        const own = get('rnnkit');
        const other = get(b);
        row.push(own && other ? `${num(own.samplesPerSec / other.samplesPerSec)}x` : '–');
      }
    }
    return row;
  });
  return table(header, rows);
}

/** The whole Markdown report for a finished (or interrupted) run. */
function markdownReport(run) {
  const parts = ['# rnnkit benchmark', machineSection(run)];
  const workloads = run.workloads.length > 0;  // --only A1,A2 runs the attention workloads alone
  if (workloads) parts.push(gemmSection(run), '## Throughput', throughputTable(run));
  const latency = latencyTable(run);
  if (latency) parts.push('## Inference latency', latency);
  const attention = attentionTable(run);
  if (attention) {
    parts.push('## Attention (B 64, Tq 20, Tv 20, H 256; rnnkit: the native op on 1 thread; tfjs: the same math in tfjs ops)', attention);
  }
  const streams = streamsReport(run);
  if (streams) parts.push('## Streams (S1: the W1 model, one step per call, N concurrent streams)', streams);
  if (workloads) parts.push('## Peak RSS per backend (MB, one child process per workload)', rssTable(run));
  parts.push('## Notes', notes(run));
  return `${parts.join('\n\n')}\n`;
}

module.exports = { markdownReport };
