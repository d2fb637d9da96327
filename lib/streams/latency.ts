/** Step latencies of the stream pool: the last `size` values in a ring, quantiles on demand. @internal */
export class LatencyRecorder {
  private readonly values: Float64Array;
  private count = 0;

  constructor(size: number) {
    this.values = new Float64Array(size);
  }

  /** Adds one latency in ms (overwrites the oldest once the ring is full). */
  record(ms: number): void {
    this.values[this.count % this.values.length] = ms;
    this.count++;
  }

  /** The q-quantile (0..1, nearest rank) of the recorded values; 0 before any. */
  quantile(q: number): number {
    const n = Math.min(this.count, this.values.length);
    if (n === 0) return 0;
    const sorted = this.values.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  }
}
