import { RnnError } from '../lib/errors';
import { Callback, TrainParams } from '../lib/training/callbacks';
import { formatCount, formatDuration, formatMetric, progressLogger } from '../lib/training/progress';

class FakeStream {
  readonly chunks: string[] = [];
  constructor(readonly isTTY: boolean, readonly columns?: number) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
}

class FakeClock {
  time = 0;
  readonly now = (): number => this.time;
}

const PARAMS: TrainParams = {
  epochs: 10, initialEpoch: 0, samples: 23500, batchSize: 10000, stepsPerEpoch: 3, metrics: ['loss'], verbose: 1,
};

/** One epoch: batches end at the given times with the given sizes and losses, the epoch at `endTime`. */
async function epoch(
  logger: Callback, clock: FakeClock, index: number,
  batches: Array<{ time: number; size: number; loss: number }>, endTime: number, epochLogs: Record<string, number>,
): Promise<void> {
  await logger.onEpochBegin?.(index);
  for (const [i, b] of batches.entries()) {
    clock.time = b.time;
    await logger.onBatchEnd?.(i, { batch: i, size: b.size, loss: b.loss });
  }
  clock.time = endTime;
  await logger.onEpochEnd?.(index, epochLogs);
}

describe('formatting', () => {
  it('metrics use 4 decimals, or exponent notation when tiny', () => {
    expect(formatMetric(0.41234)).toBe('0.4123');
    expect(formatMetric(12.5)).toBe('12.5000');
    expect(formatMetric(0)).toBe('0.0000');
    expect(formatMetric(1.5e-5)).toBe('1.5000e-5');
    expect(formatMetric(NaN)).toBe('NaN');
  });

  it('durations and counts', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(4200)).toBe('4.2s');
    expect(formatDuration(185000)).toBe('3m 05s');
    expect(formatDuration(3720000)).toBe('1h 02m');
    expect(formatCount(5432.4)).toBe('5,432');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(999)).toBe('999');
  });
});

describe('progressLogger, not a TTY', () => {
  it('writes exactly one summary line per epoch', async () => {
    const stream = new FakeStream(false);
    const clock = new FakeClock();
    const logger = progressLogger({ stream, now: clock.now });
    logger.setParams?.(PARAMS);
    clock.time = 1000;
    const batches = [
      { time: 2000, size: 10000, loss: 0.5 },
      { time: 3000, size: 10000, loss: 0.4 },
      { time: 5000, size: 3500, loss: 0.1 },
    ];
    await epoch(logger, clock, 2, batches, 5200, { loss: 0.38, accuracy: 0.875, val_loss: 0.45 });
    // 23,500 samples in 4.2 s = 5,595.2 samples/s.
    expect(stream.chunks).toEqual([
      'Epoch 3/10 - 3 batches - 4.2s - loss: 0.3800 - accuracy: 0.8750 - val_loss: 0.4500 - 5,595 samples/s\n',
    ]);
  });

  it('falls back to size-weighted batch averages and works without params', async () => {
    const stream = new FakeStream(false);
    const clock = new FakeClock();
    const logger = progressLogger({ stream, now: clock.now });
    const batches = [
      { time: 100, size: 4, loss: 0.5 },
      { time: 200, size: 4, loss: 0.4 },
      { time: 300, size: 2, loss: 0.1 },
    ];
    await epoch(logger, clock, 0, batches, 500, {});
    // (4 * 0.5 + 4 * 0.4 + 2 * 0.1) / 10 = 0.38; 10 samples in 0.5 s.
    expect(stream.chunks).toEqual(['Epoch 1 - 3 batches - 500ms - loss: 0.3800 - 20 samples/s\n']);
  });
});

describe('progressLogger, TTY', () => {
  const batches = [
    { time: 50, size: 10, loss: 0.5 },
    { time: 120, size: 10, loss: 0.3 },
    { time: 160, size: 10, loss: 0.1 },
  ];

  it('redraws in place at most every 100 ms and ends the epoch with a newline', async () => {
    const stream = new FakeStream(true);
    const clock = new FakeClock();
    const logger = progressLogger({ stream, now: clock.now });
    logger.setParams?.({ ...PARAMS, epochs: 2, stepsPerEpoch: 3, batchSize: 10 });
    await epoch(logger, clock, 0, batches, 200, { loss: 0.3, acc: 0.9 });
    const first = 'Epoch 1/2 [======>.............] 1/3 - loss: 0.5000 - 200 samples/s - ETA 100ms';
    // The batch at 120 ms is within 100 ms of the last draw (50 ms) and is skipped.
    const second = 'Epoch 1/2 [====================] 3/3 - loss: 0.3000 - 188 samples/s';
    const summary = 'Epoch 1/2 [====================] 3/3 - 200ms - loss: 0.3000 - acc: 0.9000 - 150 samples/s';
    expect(stream.chunks).toEqual([
      `\r${first}`,
      `\r${second}${' '.repeat(first.length - second.length)}`,
      `\r${summary}\n`,
    ]);
  });

  it('cuts progress lines to the terminal width and ends a line left open at train end', async () => {
    const stream = new FakeStream(true, 30);
    const clock = new FakeClock();
    const logger = progressLogger({ stream, now: clock.now });
    logger.setParams?.({ ...PARAMS, epochs: 2, stepsPerEpoch: 3, batchSize: 10 });
    await logger.onEpochBegin?.(0);
    clock.time = 50;
    await logger.onBatchEnd?.(0, { size: 10, loss: 0.5 });
    // 29 visible characters: one less than the width, so the terminal never wraps.
    expect(stream.chunks).toEqual(['\rEpoch 1/2 [======>...........']);
    expect(stream.chunks[0].length).toBe(1 + 29);
    await logger.onTrainEnd?.();
    expect(stream.chunks[1]).toBe('\n');
  });
});

describe('progressLogger options', () => {
  it('validates them', () => {
    expect(() => progressLogger({ clock: () => 0 } as never)).toThrow("Unknown option 'clock'");
    expect(() => progressLogger({ stream: {} as never })).toThrow(RnnError);
    expect(() => progressLogger({ now: 5 as never })).toThrow('Expected a function for now but received 5');
    expect(progressLogger()).toBeDefined();
  });
});
