/**
 * The log-mel module of the speech demo (examples/data/log-mel.js): FFT against hand-worked spectra, frame counts,
 * a pure tone landing in the mel band around its frequency, padding to a fixed frame count.
 */
// A plain-JS example module: typed here by the few members the test uses.
const logMelModule = require('../examples/data/log-mel') as {
  DEFAULT_LOG_MEL: { sampleRate: number; bands: number; energyFloor: number };
  frameCount(length: number, windowSize?: number, hopSize?: number): number;
  realPowerSpectrum(signal: Float64Array): Float64Array;
  melFilterbank(options?: object): Float64Array[];
  logMel(samples: Float32Array, options?: object): { data: Float32Array; frames: number; bands: number };
  fixFrames(features: { data: Float32Array; frames: number; bands: number }, target: number): { data: Float32Array; frames: number };
  melToHz(mel: number): number;
  hzToMel(hz: number): number;
};
const { DEFAULT_LOG_MEL, frameCount, realPowerSpectrum, melFilterbank, logMel, fixFrames, melToHz, hzToMel } = logMelModule;

describe('realPowerSpectrum', () => {
  test('a unit impulse has a flat spectrum of 1', () => {
    const impulse = new Float64Array(16);
    impulse[0] = 1;
    const power = realPowerSpectrum(impulse);
    expect(power.length).toBe(9);
    for (const p of power) expect(p).toBeCloseTo(1, 12);
  });

  test('cos(2 pi 3 n / 16) puts (16/2)^2 = 64 in bin 3 and nothing elsewhere; a constant 1 gives 16^2 in bin 0', () => {
    const cosine = Float64Array.from({ length: 16 }, (_, n) => Math.cos((2 * Math.PI * 3 * n) / 16));
    const power = realPowerSpectrum(cosine);
    power.forEach((p, k) => expect(p).toBeCloseTo(k === 3 ? 64 : 0, 9));
    const constant = realPowerSpectrum(new Float64Array(8).fill(1));
    expect(Array.from(constant).map((p) => Math.round(p * 1e9) / 1e9)).toEqual([64, 0, 0, 0, 0]);
  });

  test('the Nyquist bin: (-1)^n of length 8 gives 8^2 = 64 in bin 4', () => {
    const alternating = Float64Array.from({ length: 8 }, (_, n) => (n % 2 === 0 ? 1 : -1));
    expect(realPowerSpectrum(alternating)[4]).toBeCloseTo(64, 9);
    expect(realPowerSpectrum(alternating)[0]).toBeCloseTo(0, 9);
  });
});

describe('frameCount', () => {
  test('1 s at 16 kHz with a 400-sample window and 320-sample hop gives 1 + floor(15600 / 320) = 49 frames', () => {
    expect(frameCount(16000)).toBe(49);
    expect(frameCount(400)).toBe(1);
    expect(frameCount(399)).toBe(0);
    expect(frameCount(720)).toBe(2);
    expect(frameCount(719)).toBe(1);
  });

  test('logMel returns frameCount(length) rows of 24 bands', () => {
    const features = logMel(new Float32Array(10320));
    expect(features.frames).toBe(32);
    expect(features.bands).toBe(24);
    expect(features.data.length).toBe(32 * 24);
  });
});

describe('mel filters and log-mel energies', () => {
  test('band edges are equally spaced in mel and each filter peaks near 1 at its centre', () => {
    expect(hzToMel(melToHz(1234))).toBeCloseTo(1234, 9);
    expect(hzToMel(1000)).toBeCloseTo(999.99, 1); // 2595 log10(1 + 1000/700)
    const filters = melFilterbank();
    expect(filters.length).toBe(24);
    for (const row of filters) {
      const peak = Math.max(...row);
      expect(peak).toBeGreaterThan(0.5);
      expect(peak).toBeLessThanOrEqual(1);
    }
  });

  test('a 1 kHz sine puts its largest energy in the band centred nearest 1 kHz', () => {
    const { sampleRate, bands } = DEFAULT_LOG_MEL;
    const sine = Float32Array.from({ length: 4000 }, (_, n) => 0.5 * Math.sin((2 * Math.PI * 1000 * n) / sampleRate));
    const features = logMel(sine);
    // Centres: equally spaced mel points between 60 Hz and 8 kHz, bands + 2 points including both edges.
    const low = hzToMel(60);
    const high = hzToMel(8000);
    const centres = Array.from({ length: bands }, (_, b) => melToHz(low + ((high - low) * (b + 1)) / (bands + 1)));
    const expected = centres.reduce((best, hz, b) => (Math.abs(hz - 1000) < Math.abs(centres[best] - 1000) ? b : best), 0);
    for (let t = 0; t < features.frames; t++) {
      const row = Array.from(features.data.subarray(t * bands, (t + 1) * bands));
      expect(row.indexOf(Math.max(...row))).toBe(expected);
      // The tone's band is far above bands a few octaves away (ln ratio > 10, i.e. > 40 dB).
      expect(row[expected] - row[0]).toBeGreaterThan(10);
    }
  });

  test('silence gives the floor ln(1e-10) and fixFrames pads with it and trims extra frames', () => {
    const silent = logMel(new Float32Array(720));
    expect(silent.frames).toBe(2);
    for (const v of silent.data) expect(v).toBeCloseTo(Math.log(1e-10), 5);
    const tone = logMel(Float32Array.from({ length: 1040 }, (_, n) => Math.sin(n / 3)));
    const padded = fixFrames(tone, 5);
    expect(padded.data.length).toBe(5 * 24);
    expect(Array.from(padded.data.subarray(0, 3 * 24))).toEqual(Array.from(tone.data));
    for (const v of padded.data.subarray(3 * 24)) expect(v).toBeCloseTo(Math.log(1e-10), 5);
    expect(Array.from(fixFrames(tone, 2).data)).toEqual(Array.from(tone.data.subarray(0, 2 * 24)));
  });
});
