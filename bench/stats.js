'use strict';
/** Order statistics of timing samples. Percentiles use the nearest-rank definition (p90 of 10 values = the 9th). */

function sorted(values) {
  if (!values.length) throw new Error('Expected at least one timing sample but received none');
  return Float64Array.from(values).sort();
}

/** Nearest-rank percentile, p in (0, 100]. */
function percentile(values, p) {
  const s = sorted(values);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
}

/** Median (mean of the two middle values for an even count). */
function median(values) {
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** { median, min, max, n } of a list of rates or times. */
function summarize(values) {
  const s = sorted(values);
  return { median: median(s), min: s[0], max: s[s.length - 1], n: s.length };
}

/** Applies f to median, min and max (e.g. samples/s -> GFLOP/s); a decreasing f swaps min and max. */
function mapSummary(summary, f) {
  const a = f(summary.min);
  const b = f(summary.max);
  return { median: f(summary.median), min: Math.min(a, b), max: Math.max(a, b), n: summary.n };
}

module.exports = { percentile, median, summarize, mapSummary };
