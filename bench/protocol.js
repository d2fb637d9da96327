'use strict';
/**
 * The timing protocol shared by every backend: warm-up, then timed repetitions of a step function, within a time
 * budget so that slow backends finish with fewer (but stated) steps instead of running for an hour.
 */
const { performance } = require('perf_hooks');
const { summarize, percentile } = require('./stats');

/**
 * full: the numbers to report; a step slower than the budget gets one warm-up and one timed step, and the record says
 * so. quick: a smoke run; a step slower than the whole quick budget is timed once, cold (its warm-up is the
 * measurement), and the record says so. run.js also caps each quick child's wall time.
 */
const SETTINGS = {
  full: {
    warmupSteps: 2, repetitions: 5, repetitionSeconds: 1.0, budgetSeconds: 30,
    latencyCalls: 200, minLatencyCalls: 10, latencySeconds: 4, coldOnly: false,
    pairRounds: 6, pairSeconds: 0.5,
  },
  quick: {
    warmupSteps: 1, repetitions: 3, repetitionSeconds: 0.1, budgetSeconds: 1,
    latencyCalls: 20, minLatencyCalls: 3, latencySeconds: 0.5, coldOnly: true,
    pairRounds: 0, pairSeconds: 0,  // no paired thread ratios in a smoke run
  },
};

async function timeSeconds(fn) {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

/** Runs warm-up steps; returns the time of the last one, the estimate of a warm step. Slow steps get one warm-up. */
async function warmUp(step, settings) {
  let seconds = await timeSeconds(step);
  let steps = 1;
  while (steps < settings.warmupSteps && seconds < settings.budgetSeconds / 2) {
    seconds = await timeSeconds(step);
    steps++;
  }
  return { seconds, steps };
}

/**
 * Throughput of `step` (which processes samplesPerStep samples): samples/s of each repetition summarized as
 * { median, min, max, n }, plus how many steps were warm-up and timed.
 */
async function measureRate(step, samplesPerStep, settings) {
  const warm = await warmUp(step, settings);
  if (settings.coldOnly && warm.seconds > settings.budgetSeconds) {
    return {
      samplesPerSec: summarize([samplesPerStep / warm.seconds]), warmupSteps: 0, timedSteps: 1, repetitions: 1,
      stepsPerRepetition: 1, reduced: true, note: '1 cold step (warm-up included)',
    };
  }
  const stepsPerRepetition = Math.max(1, Math.round(settings.repetitionSeconds / warm.seconds));
  const affordable = Math.floor(settings.budgetSeconds / (stepsPerRepetition * warm.seconds));
  const repetitions = Math.max(1, Math.min(settings.repetitions, affordable));
  const rates = [];
  for (let r = 0; r < repetitions; r++) {
    const seconds = await timeSeconds(async () => {
      for (let s = 0; s < stepsPerRepetition; s++) await step();
    });
    rates.push((stepsPerRepetition * samplesPerStep) / seconds);
  }
  const timedSteps = repetitions * stepsPerRepetition;
  const reduced = repetitions < settings.repetitions;
  return {
    samplesPerSec: summarize(rates), warmupSteps: warm.steps, timedSteps, repetitions, stepsPerRepetition, reduced,
    note: reduced ? `${timedSteps} timed step(s) after ${warm.steps} warm-up` : undefined,
  };
}

/**
 * Per-call latency of `call` in ms: { median, p90, min, max, n } over as many calls as the settings allow. Slow calls
 * get fewer timed calls (at least one), within the same budget as measureRate.
 */
async function measureLatency(call, settings) {
  const warm = await warmUp(call, settings);
  if (settings.coldOnly && warm.seconds > settings.budgetSeconds) {
    const ms = warm.seconds * 1000;
    return { latencyMs: { ...summarize([ms]), p90: ms }, warmupSteps: 0, timedSteps: 1, reduced: true, note: '1 cold call (warm-up included)' };
  }
  const minCalls = Math.min(settings.minLatencyCalls, Math.max(1, Math.floor(settings.budgetSeconds / warm.seconds)));
  const times = [];
  const deadline = performance.now() + settings.latencySeconds * 1000;
  while (times.length < settings.latencyCalls && (times.length < minCalls || performance.now() < deadline)) {
    times.push((await timeSeconds(call)) * 1000);
  }
  const reduced = times.length < settings.minLatencyCalls;
  return {
    latencyMs: { ...summarize(times), p90: percentile(times, 90) }, warmupSteps: warm.steps, timedSteps: times.length,
    reduced, note: reduced ? `${times.length} timed call(s) after ${warm.steps} warm-up` : undefined,
  };
}

/**
 * Paired comparison of two settings of the same backend (rnnkit's thread counts): `configure(setting)` switches, then
 * a window of steps is timed; each round times both settings back to back, in swapped order every other round, so a
 * machine that speeds up or slows down during the run moves both alike. Returns the summary of the per-round ratios
 * rate(second) / rate(first), with the rounds, steps per window and the window length aimed at.
 */
async function measurePairedRatio(step, configure, [first, second], settings) {
  const warm = {};
  for (const setting of [first, second]) {
    configure(setting);
    warm[setting] = await warmUp(step, settings);
  }
  const slowest = Math.max(warm[first].seconds, warm[second].seconds);
  const stepsPerWindow = Math.max(1, Math.round(settings.pairSeconds / slowest));
  const ratios = [];
  for (let round = 0; round < settings.pairRounds; round++) {
    const seconds = {};
    for (const setting of round % 2 === 0 ? [first, second] : [second, first]) {
      configure(setting);
      seconds[setting] = await timeSeconds(async () => {
        for (let s = 0; s < stepsPerWindow; s++) await step();
      });
    }
    ratios.push(seconds[first] / seconds[second]);  // same steps in both windows: the rate ratio is the time ratio
  }
  return { ratio: summarize(ratios), rounds: settings.pairRounds, stepsPerWindow, windowSeconds: settings.pairSeconds };
}

module.exports = { SETTINGS, measureRate, measureLatency, measurePairedRatio };
