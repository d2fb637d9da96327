'use strict';
/**
 * The machine a run was measured on: CPU, cores, Node, library versions, load, and a busy probe that shows whether
 * the second core is free (the benchmarks are single-threaded, but other processes on the box are not).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');

function cpuModel() {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1].trim();
  } catch (error) {
    // Not Linux: fall back to what Node reports.
  }
  return os.cpus()[0] ? os.cpus()[0].model : 'unknown';
}

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch (error) {
    return `not installed (${error.code || error.message})`;
  }
}

/** rnnkit's backendInfo() and which addon file was loaded (a prebuild, an override or the local build). */
function rnnkitBuild() {
  try {
    const info = require('..').backendInfo();
    const addon = Object.keys(require.cache).find((file) => file.endsWith('.node'));
    const relative = addon && path.relative(path.join(__dirname, '..'), addon);
    return { ...info, addon: addon ? (relative.startsWith('..') ? addon : relative) : 'unknown' };
  } catch (error) {
    return { error: error.message.split('\n')[0] };
  }
}

// A fixed integer spin; the result is returned so the loop cannot be optimised away.
const SPIN_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const start = process.hrtime.bigint();
let x = 1;
for (let i = 0; i < workerData; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0;
parentPort.postMessage({ ms: Number(process.hrtime.bigint() - start) / 1e6, x });
`;

function spin(iterations) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SPIN_SOURCE, { eval: true, workerData: iterations });
    worker.once('message', (m) => resolve(m.ms));
    worker.once('error', reject);
  });
}

/**
 * Runs the same spin on one worker, then on two at once. slowdown = slower of the two / single: about 1.0 when the
 * second core is free, about 2.0 when both spins had to share one core.
 */
async function busyProbe(iterations = 40e6) {
  await spin(iterations / 10); // compile the loop before timing
  const oneThreadMs = await spin(iterations);
  const twoThreadsMs = await Promise.all([spin(iterations), spin(iterations)]);
  const slowdown = Math.max(...twoThreadsMs) / oneThreadMs;
  return { oneThreadMs: round(oneThreadMs), twoThreadsMs: twoThreadsMs.map(round), slowdown: round(slowdown, 2) };
}

function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Static facts plus the load at this moment. */
async function machineInfo() {
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    rnnkit: { version: require('../package.json').version, ...rnnkitBuild() },
    tfjs: packageVersion('@tensorflow/tfjs'),
    tfjsBackendWasm: packageVersion('@tensorflow/tfjs-backend-wasm'),
    date: new Date().toISOString(),
    ...(await loadSnapshot()),
  };
}

/** os.loadavg() (1, 5, 15 min) and the busy probe, for the start and the end of a run. */
async function loadSnapshot() {
  return { loadavg: os.loadavg().map((v) => round(v, 2)), busyProbe: await busyProbe() };
}

module.exports = { machineInfo, loadSnapshot };
