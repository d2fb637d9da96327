'use strict';
/**
 * Log-mel features of a mono signal, written out in full so an example needs no audio library:
 *
 *   frame t = samples [t * hop, t * hop + window), times a Hann window w[n] = 0.5 - 0.5 cos(2 pi n / window)
 *   power spectrum P[k] = |FFT_fftSize(frame)[k]|^2, k = 0 .. fftSize / 2 (the frame zero-padded to fftSize)
 *   band energy E[b] = sum_k H_b[k] P[k], H_b a triangle on the mel scale (mel = 2595 log10(1 + f / 700))
 *   feature = ln(max(E[b], floor))
 *
 * Defaults: 16 kHz, 25 ms window (400 samples), 20 ms hop (320), 512-point FFT, 24 bands from 60 Hz to 8 kHz.
 * Features are row-major [frames, bands].
 */

const DEFAULT_LOG_MEL = Object.freeze({
  sampleRate: 16000,
  windowSize: 400,
  hopSize: 320,
  fftSize: 512,
  bands: 24,
  minFrequency: 60,
  maxFrequency: 8000,
  /** Energies below this are clamped before the log, so silence gives a finite floor of ln(1e-10) ~ -23. */
  energyFloor: 1e-10,
});

/** Number of whole frames in a signal of `length` samples (0 when it is shorter than one window). */
function frameCount(length, windowSize = DEFAULT_LOG_MEL.windowSize, hopSize = DEFAULT_LOG_MEL.hopSize) {
  return length < windowSize ? 0 : 1 + Math.floor((length - windowSize) / hopSize);
}

const twiddleTables = new Map();
/** cos and sin of -2 pi j / size for j < size / 2, computed once per size. */
function twiddles(size) {
  if (!twiddleTables.has(size)) {
    const half = size >> 1;
    const cos = Float64Array.from({ length: half }, (_, j) => Math.cos((-2 * Math.PI * j) / size));
    const sin = Float64Array.from({ length: half }, (_, j) => Math.sin((-2 * Math.PI * j) / size));
    twiddleTables.set(size, { cos, sin });
  }
  return twiddleTables.get(size);
}

/**
 * In-place iterative radix-2 complex FFT of `re`/`im` (length a power of two): X[k] = sum_n x[n] e^{-2 pi i k n / N}.
 * Bit-reversal permutation, then log2(N) rounds of butterflies.
 */
function complexFft(re, im) {
  const size = re.length;
  for (let i = 1, j = 0; i < size; i++) {
    let bit = size >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  const { cos, sin } = twiddles(size);
  for (let span = 2; span <= size; span <<= 1) {
    const half = span >> 1;
    const stride = size / span; // e^{-2 pi i k / span} = e^{-2 pi i (k * stride) / size}
    for (let start = 0; start < size; start += span) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * stride];
        const wi = sin[k * stride];
        const a = start + k;
        const b = a + half;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

/**
 * Power spectrum |X[k]|^2, k = 0 .. N/2, of a real signal of length N (a power of two) with one N/2-point complex
 * FFT: z[m] = x[2m] + i x[2m+1] gives Z, and with E = (Z[k] + conj Z[N/2-k]) / 2, O = (Z[k] - conj Z[N/2-k]) / 2i
 * (the spectra of the even and odd samples), X[k] = E[k] + e^{-2 pi i k / N} O[k].
 */
function realPowerSpectrum(signal) {
  const size = signal.length;
  const half = size >> 1;
  const re = new Float64Array(half);
  const im = new Float64Array(half);
  for (let m = 0; m < half; m++) {
    re[m] = signal[2 * m];
    im[m] = signal[2 * m + 1];
  }
  complexFft(re, im);
  const power = new Float64Array(half + 1);
  for (let k = 0; k <= half; k++) {
    const a = k % half;
    const b = (half - k) % half;
    const evenRe = (re[a] + re[b]) / 2;
    const evenIm = (im[a] - im[b]) / 2;
    const oddRe = (im[a] + im[b]) / 2;
    const oddIm = -(re[a] - re[b]) / 2;
    const angle = (-2 * Math.PI * k) / size;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    const xRe = evenRe + wr * oddRe - wi * oddIm;
    const xIm = evenIm + wr * oddIm + wi * oddRe;
    power[k] = xRe * xRe + xIm * xIm;
  }
  return power;
}

const hzToMel = (hz) => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel) => 700 * (10 ** (mel / 2595) - 1);

/**
 * Triangular filters on the mel scale: `bands` triangles whose edges and centres are bands + 2 points equally spaced
 * in mel between minFrequency and maxFrequency, each peaking at 1 on its centre. Returns Float64Array rows
 * [bands, fftSize / 2 + 1].
 */
function melFilterbank(options = {}) {
  const { sampleRate, fftSize, bands, minFrequency, maxFrequency } = { ...DEFAULT_LOG_MEL, ...options };
  const bins = fftSize / 2 + 1;
  const lowMel = hzToMel(minFrequency);
  const highMel = hzToMel(maxFrequency);
  const edgesHz = Array.from({ length: bands + 2 }, (_, i) => melToHz(lowMel + ((highMel - lowMel) * i) / (bands + 1)));
  const filters = [];
  for (let b = 0; b < bands; b++) {
    const [left, centre, right] = [edgesHz[b], edgesHz[b + 1], edgesHz[b + 2]];
    const row = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const hz = (k * sampleRate) / fftSize;
      if (hz > left && hz <= centre) row[k] = (hz - left) / (centre - left);
      else if (hz > centre && hz < right) row[k] = (right - hz) / (right - centre);
    }
    filters.push(row);
  }
  return filters;
}

function hannWindow(size) {
  return Float64Array.from({ length: size }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / size));
}

/** Filterbank and window depend only on the settings: built once per distinct settings. */
const tables = new Map();
function cachedTables(settings) {
  const key = JSON.stringify(settings);
  if (!tables.has(key)) tables.set(key, { filters: melFilterbank(settings), window: hannWindow(settings.windowSize) });
  return tables.get(key);
}

/**
 * Log-mel features of `samples` (numbers in [-1, 1] at options.sampleRate). Returns `{ data, frames, bands }` with
 * data a Float32Array [frames, bands] (frames = frameCount(samples.length)).
 */
function logMel(samples, options = {}) {
  const settings = { ...DEFAULT_LOG_MEL, ...options };
  const { windowSize, hopSize, fftSize, bands, energyFloor } = settings;
  if (windowSize > fftSize || (fftSize & (fftSize - 1)) !== 0) {
    throw new Error(`Expected a power-of-two fftSize of at least windowSize ${windowSize} but received ${fftSize}`);
  }
  const { filters, window } = cachedTables(settings);
  const frames = frameCount(samples.length, windowSize, hopSize);
  const data = new Float32Array(frames * bands);
  const frame = new Float64Array(fftSize);
  for (let t = 0; t < frames; t++) {
    const start = t * hopSize;
    for (let n = 0; n < windowSize; n++) frame[n] = samples[start + n] * window[n];
    const power = realPowerSpectrum(frame);
    for (let b = 0; b < bands; b++) {
      const filter = filters[b];
      let energy = 0;
      for (let k = 0; k < power.length; k++) energy += filter[k] * power[k];
      data[t * bands + b] = Math.log(Math.max(energy, energyFloor));
    }
  }
  return { data, frames, bands };
}

/**
 * Features cut or padded to exactly `targetFrames` frames: the first targetFrames are kept, missing frames are
 * filled with `padValue` (by default ln(energyFloor), what silence gives).
 */
function fixFrames(features, targetFrames, padValue = Math.log(DEFAULT_LOG_MEL.energyFloor)) {
  const { data, frames, bands } = features;
  const out = new Float32Array(targetFrames * bands).fill(padValue);
  out.set(data.subarray(0, Math.min(frames, targetFrames) * bands));
  return { data: out, frames: targetFrames, bands };
}

module.exports = { DEFAULT_LOG_MEL, frameCount, complexFft, realPowerSpectrum, melFilterbank, logMel, fixFrames, hzToMel, melToHz };
