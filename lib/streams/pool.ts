/**
 * The stream pool (`rk.streams`): many live sequences through one model, each with its own recurrent state, with
 * the steps of different streams that arrive together run as one native predict over the model's state graph
 * (lib/streams/state_graph.ts). A stream's state is a row of the native state store of that graph's network; a batch
 * passes the rows of its streams, and the worker thread gathers them into the state inputs and scatters the final
 * states back (only when the batch succeeds), so no state crosses to JS per step. Steps of one stream run in order.
 * Chunks of different lengths are grouped by length (one native call per length present), so no padding or mask is
 * needed and every result equals running the stream alone. A model with several inputs takes one entry per input
 * (lib/streams/chunk.ts); each input's rows are batched the same way. An input `[null]` read by an embedding takes
 * token ids (one per step), checked as model.predict checks them. A non-sequence input `[F]` (a conditioning vector)
 * is given with every pool.step and applies to every step of that chunk, as model.predict applies it to a whole
 * sequence; the pool keeps no per-stream inputs (Triton's sequence batcher also wants every input in every
 * request), so a step without it is refused. A stream equals its per-stream predict when the vector is the same in
 * every step call. A stream needs no padding: a step that a masking layer or a maskZero embedding reading an input
 * would mask is refused (rnnkit masks are windows, so padding would count inside a chunk but not at its edge).
 */
import { RnnError } from '../errors';
import { Embedding, Masking } from '../layers/core';
import type { Model } from '../models/model';
import { frozenShape, Tensor, trustedTensor } from '../tensor';
import { checkKnownKeys, checkNumber, checkInteger, describeValue, optionsOrEmpty } from '../validate';
import { stepValues, StreamInputSpec, StreamStep } from './chunk';
import { LatencyRecorder } from './latency';
import { StateGraph } from './state_graph';

/** Options of `rk.streams`. */
export interface StreamPoolOptions {
  /** Most streams in one native call. Default 256. */
  maxBatch?: number;
  /** How long a step may wait for others to join its batch, in ms. Default 0 (steps of the same tick). */
  maxDelayMs?: number;
  /** A stream with no step for this long is evicted (its state freed). Default Infinity (never). */
  idleMs?: number;
  /** Streams the native state store holds before it grows (allocated up front). Default 1024. */
  capacity?: number;
}

/** `pool.stats()`. */
export interface StreamPoolStats {
  /** Steps (pool.step calls) completed. */
  calls: number;
  /** Native calls run. */
  batches: number;
  /** Mean streams per native call. */
  meanBatch: number;
  /** Median latency of a step, from pool.step to its result, in ms (over the last 4096 steps). */
  p50Ms: number;
  /** 99th percentile latency of a step, in ms (over the last 4096 steps). */
  p99Ms: number;
  /** Streams holding a state now. */
  streams: number;
}

interface Pending {
  /** One copied chunk per model input, [steps * F_i] each. */
  values: Float32Array[];
  steps: number;
  started: number;
  resolve: (value: Tensor | Tensor[]) => void;
  reject: (error: unknown) => void;
}

interface Stream {
  id: string;
  row: number;
  queue: Pending[];
  running: boolean;
  lastUsed: number;
}

/** Many concurrent streams of one model; make one with `rk.streams(model, options)`. */
export class StreamPool {
  private readonly graph: StateGraph;
  /** How each model input is read (sequence, ids, non-sequence vector). */
  private readonly specs: StreamInputSpec[];
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly idleMs: number;
  private readonly freeRows: number[] = [];
  private rowCount = 0;
  private readonly streams = new Map<string, Stream>();
  private readonly gone = new Map<string, 'ended' | 'evicted'>();
  private readonly ready: Stream[] = [];
  private timer?: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate>;
  private inFlight?: Promise<void>;
  private closed = false;
  private calls = 0;
  private batches = 0;
  private batchedSteps = 0;
  private readonly latency = new LatencyRecorder(4096);
  private readonly rows: Int32Array;
  private readonly evictTimer?: ReturnType<typeof setInterval>;

  /** Use `rk.streams(model, options)`. */
  constructor(model: Model, options?: StreamPoolOptions) {
    const o = optionsOrEmpty(options, 'stream pool options');
    checkKnownKeys(o, ['maxBatch', 'maxDelayMs', 'idleMs', 'capacity'], 'stream pool options');
    this.maxBatch = o.maxBatch === undefined ? 256 : checkInteger(o.maxBatch, 'maxBatch', { min: 1 });
    this.maxDelayMs = o.maxDelayMs === undefined ? 0 : checkNumber(o.maxDelayMs, 'maxDelayMs', { min: 0 });
    this.idleMs = o.idleMs === undefined || o.idleMs === Infinity ? Infinity : checkNumber(o.idleMs, 'idleMs', { min: 1 });
    const capacity = o.capacity === undefined ? 1024 : checkInteger(o.capacity, 'capacity', { min: 1 });
    this.specs = inputSpecs(model);
    this.graph = new StateGraph(model);
    try {
      this.graph.resetRow(capacity - 1);  // allocates rows 0 .. capacity - 1 (zeros); streamFor takes them from 0 up
    } catch (error) {
      this.graph.dispose();
      throw error;
    }
    this.rows = new Int32Array(this.maxBatch);
    if (Number.isFinite(this.idleMs)) {
      this.evictTimer = setInterval(() => this.evictIdle(), Math.max(1, this.idleMs / 2));
      this.evictTimer.unref?.();
    }
  }

  /** Values in one stream's state (getState's length). */
  get stateSize(): number {
    return this.graph.stateSize;
  }

  /**
   * Runs one step `[F]` or a chunk `[t, F]` of stream `id` (a new id starts from a zero state) and resolves to the
   * model's output after it: `[...outputShape]`, or `[t, ...]` per step when the model returns sequences (an
   * array of tensors for a model with several outputs). Steps of one stream run in the order they are given.
   * A model with several inputs takes `[x0, x1, ...]` in model input order or `{ [inputName]: x }` (any model takes
   * the object form), each a step or a chunk of that input, all with the same number of steps. An id input
   * `[null]` takes one id (a number) or ids `[t]`; a non-sequence input `[F]` takes its F values with every call,
   * used for every step of the chunk.
   */
  step(id: string | number, x: StreamStep): Promise<Tensor | Tensor[]> {
    let stream: Stream;
    let chunk: ReturnType<typeof stepValues>;
    try {
      this.ensureOpen('step');
      chunk = stepValues(x, this.specs);
      stream = this.streamFor(id, true)!;
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      // No lastUsed here: a stream with a queued step is never evicted, and runBatch stamps it when the step ends.
      stream.queue.push({ values: chunk.values, steps: chunk.steps, started: performance.now(), resolve, reject });
      if (stream.queue.length === 1 && !stream.running) this.ready.push(stream);
      this.schedule();
    });
  }

  /** Sets stream `id` back to a zero state (after its queued steps); an ended or evicted id may start again. */
  async reset(id: string | number): Promise<void> {
    this.ensureOpen('reset a stream');
    const key = this.key(id);
    this.gone.delete(key);
    const stream = this.streamFor(key, true)!;
    await this.settled(stream);
    this.graph.resetRow(stream.row);
  }

  /** Ends stream `id` after its queued steps and frees its state; a later step is a STATE error unless reset. */
  async end(id: string | number): Promise<void> {
    this.ensureOpen('end a stream');
    const stream = this.streamFor(id, false)!;
    await this.settled(stream);
    this.release(stream, 'ended');
  }

  /** A copy of stream `id`'s state (stateSize values; see StateGraph for the layout), after its completed steps. */
  getState(id: string | number): Float32Array {
    this.ensureOpen('read a state');
    const stream = this.streamFor(id, false)!;
    return this.graph.readRow(stream.row);
  }

  /** Replaces stream `id`'s state (creating the stream if needed), after its queued steps. */
  async setState(id: string | number, state: Float32Array): Promise<void> {
    this.ensureOpen('set a state');
    if (!(state instanceof Float32Array) || state.length !== this.stateSize) {
      throw new RnnError('SHAPE', `Expected a Float32Array of ${this.stateSize} values for the state of stream '${String(id)}' but received ${state instanceof Float32Array ? `${state.length} values` : describeValue(state)}`);
    }
    const copy = state.slice();
    const key = this.key(id);
    this.gone.delete(key);
    const stream = this.streamFor(key, true)!;
    await this.settled(stream);
    this.graph.writeRow(stream.row, copy);
  }

  /** Counters and step latencies since the pool was made. */
  stats(): StreamPoolStats {
    return {
      calls: this.calls,
      batches: this.batches,
      meanBatch: this.batches === 0 ? 0 : this.batchedSteps / this.batches,
      p50Ms: this.latency.quantile(0.5),
      p99Ms: this.latency.quantile(0.99),
      streams: this.streams.size,
    };
  }

  /** Runs the queued steps, then refuses new ones (STATE) and frees the pool's native memory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.evictTimer) clearInterval(this.evictTimer);
    while (this.inFlight || this.ready.length > 0) {
      if (this.inFlight) await this.inFlight;
      else await this.flush();
    }
    this.graph.dispose();
  }

  private key(id: string | number): string {
    if (typeof id === 'number' ? !Number.isFinite(id) : typeof id !== 'string') {
      throw new RnnError('ARGUMENT', `Expected a stream id (a string or a finite number) but received ${describeValue(id)}`);
    }
    return String(id);
  }

  private ensureOpen(what: string): void {
    if (this.closed) throw new RnnError('STATE', `Cannot ${what}: the stream pool is closed`);
  }

  private streamFor(id: string | number, create: boolean): Stream | undefined {
    const key = this.key(id);
    const found = this.streams.get(key);
    if (found) return found;
    const gone = this.gone.get(key);
    if (gone) throw new RnnError('STATE', `Stream '${key}' was ${gone === 'ended' ? 'ended by pool.end' : `evicted after ${this.idleMs} ms idle`}; call pool.reset('${key}') to start it again`);
    if (!create) throw new RnnError('ARGUMENT', `Expected a stream id the pool knows but stream '${key}' has no state`);
    const row = this.freeRows.length > 0 ? this.freeRows[this.freeRows.length - 1] : this.rowCount;
    this.graph.resetRow(row);  // zeros; grows the native store (a refusal takes no row)
    if (row === this.rowCount) this.rowCount++;
    else this.freeRows.pop();
    const stream: Stream = { id: key, row, queue: [], running: false, lastUsed: Date.now() };
    this.streams.set(key, stream);
    return stream;
  }

  private release(stream: Stream, why: 'ended' | 'evicted'): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    this.gone.set(stream.id, why);
    this.freeRows.push(stream.row);
  }

  /** Resolves once the stream has no queued or running step. */
  private async settled(stream: Stream): Promise<void> {
    while (stream.running || stream.queue.length > 0) {
      const last = stream.queue[stream.queue.length - 1];
      if (last) await new Promise<void>((done) => { const { resolve, reject } = last; last.resolve = (v) => { resolve(v); done(); }; last.reject = (e) => { reject(e); done(); }; });
      else await this.inFlight;
    }
  }

  private schedule(): void {
    if (this.timer !== undefined || this.inFlight) return;
    const run = () => { this.timer = undefined; void this.flush(); };
    this.timer = this.maxDelayMs > 0 ? setTimeout(run, this.maxDelayMs) : setImmediate(run);
  }

  /** One native call: the oldest ready stream's chunk length, and every ready stream with a chunk of that length. */
  private flush(): Promise<void> {
    if (this.inFlight || this.ready.length === 0) return this.inFlight ?? Promise.resolve();
    const steps = this.ready[0].queue[0].steps;
    const batch: Stream[] = [];
    // One pass: streams of this chunk length join the batch (up to maxBatch), the others keep their order in ready.
    let kept = 0;
    for (let i = 0; i < this.ready.length; i++) {
      const stream = this.ready[i];
      if (batch.length < this.maxBatch && stream.queue[0].steps === steps) batch.push(stream);
      else this.ready[kept++] = stream;
    }
    this.ready.length = kept;
    this.inFlight = this.runBatch(batch, steps).finally(() => {
      this.inFlight = undefined;
      if (this.ready.length > 0) this.schedule();
    });
    return this.inFlight;
  }

  private async runBatch(batch: Stream[], steps: number): Promise<void> {
    // One [batch, steps, F_i] ([batch, steps] for ids, [batch, F_i] for a vector) block per input, stream b's
    // values at row b of each.
    const shapes = this.specs.map((s) => (s.kind === 'sequence' ? [steps, s.features] : s.kind === 'ids' ? [steps] : [s.features]));
    const sizes = shapes.map((shape) => shape.reduce((a, c) => a * c, 1));
    const xs = sizes.map((size) => new Float32Array(batch.length * size));
    const items = new Array<Pending>(batch.length);
    for (let b = 0; b < batch.length; b++) {
      const stream = batch[b];
      stream.running = true;
      this.rows[b] = stream.row;
      const item = stream.queue.shift()!;
      for (let i = 0; i < xs.length; i++) xs[i].set(item.values[i], b * sizes[i]);
      items[b] = item;
    }
    let result: Awaited<ReturnType<StateGraph['run']>> | undefined;
    let failure: unknown;
    try {
      result = await this.graph.run(batch.length, xs, shapes, this.rows);
    } catch (error) {
      failure = error;
    }
    const now = performance.now();
    const wall = Date.now();
    this.batches++;
    this.batchedSteps += batch.length;
    const outputs = result ? result.outputs : [];
    const outShapes = result ? result.shapes : [];
    const outSizes = outShapes.map((shape) => shape.reduce((a, c) => a * c, 1));
    // Checked and frozen once per batch; every step's output tensor shares it (trustedTensor skips the checks).
    let frozen: (readonly number[])[] = [];
    try {
      frozen = outShapes.map((shape, k) => frozenShape(shape, outSizes[k]));
    } catch (error) {
      result = undefined;
      failure = error;
    }
    for (let b = 0; b < batch.length; b++) {
      const stream = batch[b];
      stream.running = false;
      stream.lastUsed = wall;
      const item = items[b];
      if (result) {
        try {
          // Each step's output is its own copy of its rows (a view would expose the whole batch through .buffer).
          let out: Tensor | Tensor[];
          if (outputs.length === 1) {
            out = trustedTensor(outputs[0].slice(b * outSizes[0], (b + 1) * outSizes[0]), frozen[0]);
          } else {
            out = new Array<Tensor>(outputs.length);
            for (let k = 0; k < outputs.length; k++) out[k] = trustedTensor(outputs[k].slice(b * outSizes[k], (b + 1) * outSizes[k]), frozen[k]);
          }
          this.calls++;
          this.latency.record(now - item.started);
          item.resolve(out);
        } catch (error) {
          item.reject(error);
        }
      } else {
        item.reject(failure);
      }
      if (stream.queue.length > 0 && this.streams.get(stream.id) === stream) this.ready.push(stream);
    }
  }

  private evictIdle(): void {
    const limit = Date.now() - this.idleMs;
    for (const stream of this.streams.values()) {
      if (!stream.running && stream.queue.length === 0 && stream.lastUsed < limit) this.release(stream, 'evicted');
    }
  }
}

/**
 * How the pool reads each input of `model`: `[null, F]` (or a fixed `[T, F]`) a float sequence; `[null]`, or `[T]`
 * read by an embedding, a sequence of one value (an id) per step; any other `[F]` a non-sequence input given with
 * every pool.step. At least one sequence input; nothing of rank 3 or more.
 */
function inputSpecs(model: Model): StreamInputSpec[] {
  const inputs = model.dataSpec().inputs;
  const topology = model.topology!;
  // A masking layer or a maskZero embedding reading the input directly: its padding steps are refused (chunk.ts).
  const paddingOf = (i: number): number | undefined => {
    const readers = topology.nodes.filter((n) => n.inputs[0] === topology.inputs[i]).map((n) => n.layer);
    const masking = readers.find((l): l is Masking => l instanceof Masking);
    if (masking) return masking.maskValue;
    return readers.some((l) => l instanceof Embedding && l.maskZero) ? 0 : undefined;
  };
  const specs = inputs.map(({ name, shape, tokenLimit }, i): StreamInputSpec | undefined => {
    const padding = paddingOf(i);
    if (shape.length === 2) return { name, kind: 'sequence', features: shape[1], padding };
    if (shape.length === 1 && (tokenLimit !== undefined || shape[0] < 0)) return { name, kind: 'ids', features: 1, tokenLimit, padding };
    if (shape.length === 1) return { name, kind: 'vector', features: shape[0] };
    return undefined;
  });
  const shapes = () => JSON.stringify(inputs.map((i) => i.shape.map((d) => (d < 0 ? null : d))));
  if (specs.some((s) => s === undefined) || specs.every((s) => s!.kind === 'vector')) {
    throw new RnnError('ARGUMENT', `Expected a model whose inputs are sequences [null, F] or [null] (ids for an embedding), with any non-sequence inputs [F] beside at least one sequence, for a stream pool but model '${model.name}' has inputs ${shapes()}`);
  }
  return specs as StreamInputSpec[];
}

/**
 * A pool of concurrent streams over `model` (every recurrent layer keeps one state per stream): see StreamPool.
 * Inputs: sequences `[null, F]`, id sequences `[null]` read by an embedding (a fixed length is lifted: chunks have
 * their own length), and non-sequence inputs `[F]`, which every pool.step gives (see StreamPool.step).
 */
export function streams(model: Model, options?: StreamPoolOptions): StreamPool {
  return new StreamPool(model, options);
}
