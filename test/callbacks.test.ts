import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { RnnError } from '../lib/errors';
import { Tensor } from '../lib/tensor';
import { Callback, CallbackList, CallbackModel, callbacks, TrainParams } from '../lib/training/callbacks';
import { History, Logs } from '../lib/training/history';

/** A model with one weight vector whose getWeights() returns live views, like a native-backed model might. */
class FakeModel implements CallbackModel {
  stopTraining = false;
  readonly weights = [new Float32Array(3), new Float32Array(2)];
  readonly optimizer = { learningRate: 1 };
  getWeights(): Tensor[] {
    return this.weights.map((w) => new Tensor(w, [w.length]));
  }
  setWeights(ws: Tensor[]): void {
    ws.forEach((w, i) => this.weights[i].set(w.data));
  }
}

class SavingModel extends FakeModel {
  readonly saved: string[] = [];
  async save(path: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.saved.push(path);
  }
}

const PARAMS: TrainParams = {
  epochs: 10, initialEpoch: 0, samples: 100, batchSize: 10, stepsPerEpoch: 10, metrics: ['loss'], verbose: 0,
};

/**
 * Mimics the fit loop: during epoch e the weights are all equal to e; epoch logs come from `logsAt`.
 * Returns the epochs that ran.
 */
async function train(model: FakeModel, cbs: Callback[], epochs: number, logsAt: (epoch: number) => Logs): Promise<number[]> {
  const list = new CallbackList(cbs);
  list.setModel(model);
  list.setParams({ ...PARAMS, epochs });
  await list.onTrainBegin();
  const ran: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    await list.onEpochBegin(epoch);
    for (const w of model.weights) w.fill(epoch);
    ran.push(epoch);
    await list.onEpochEnd(epoch, logsAt(epoch));
    if (model.stopTraining) break;
  }
  await list.onTrainEnd();
  return ran;
}

const series = (key: string, values: number[]) => (epoch: number): Logs => ({ [key]: values[epoch] });

describe('earlyStopping', () => {
  it('min mode, patience 0: stops at the first epoch that does not improve', async () => {
    const es = callbacks.earlyStopping({ monitor: 'loss' });
    const ran = await train(new FakeModel(), [es], 4, series('loss', [1.0, 0.8, 0.9, 0.7]));
    expect(ran).toEqual([0, 1, 2]);
    expect(es.stoppedEpoch).toBe(2);
    expect(es.bestEpoch).toBe(1);
    expect(es.best).toBe(0.8);
  });

  it('patience 2 waits two non-improving epochs', async () => {
    const es = callbacks.earlyStopping({ monitor: 'loss', patience: 2 });
    const ran = await train(new FakeModel(), [es], 6, series('loss', [1.0, 0.8, 0.9, 0.85, 0.95, 0.5]));
    expect(ran).toEqual([0, 1, 2, 3]);
    expect(es.stoppedEpoch).toBe(3);
  });

  it("auto mode maximizes 'val_accuracy'", async () => {
    const es = callbacks.earlyStopping({ monitor: 'val_accuracy', patience: 1 });
    const ran = await train(new FakeModel(), [es], 4, series('val_accuracy', [0.5, 0.6, 0.55, 0.58]));
    expect(ran).toEqual([0, 1, 2]);
    expect(es.bestEpoch).toBe(1);
  });

  it("explicit 'max' mode on a loss-named key", async () => {
    const es = callbacks.earlyStopping({ monitor: 'loss', mode: 'max' });
    const ran = await train(new FakeModel(), [es], 4, series('loss', [1, 2, 1.5, 3]));
    expect(ran).toEqual([0, 1, 2]);
  });

  it('minDelta: changes smaller than it do not count', async () => {
    const values = [1.0, 0.95, 0.85, 0.8];
    const strict = callbacks.earlyStopping({ monitor: 'loss', patience: 1, minDelta: 0.1 });
    expect(await train(new FakeModel(), [strict], 4, series('loss', values))).toEqual([0, 1]);
    const patient = callbacks.earlyStopping({ monitor: 'loss', patience: 2, minDelta: 0.1 });
    expect(await train(new FakeModel(), [patient], 4, series('loss', values))).toEqual([0, 1, 2, 3]);
    expect(patient.bestEpoch).toBe(2);
    expect(patient.stoppedEpoch).toBeUndefined();
  });

  it('baseline: epochs that do not beat it use up patience', async () => {
    const values = [0.9, 0.95, 0.97, 0.99];
    const withBaseline = callbacks.earlyStopping({ monitor: 'loss', patience: 2, baseline: 0.5 });
    expect(await train(new FakeModel(), [withBaseline], 4, series('loss', values))).toEqual([0, 1]);
    const without = callbacks.earlyStopping({ monitor: 'loss', patience: 2 });
    expect(await train(new FakeModel(), [without], 4, series('loss', values))).toEqual([0, 1, 2]);
  });

  it('restoreBestWeights puts back the best epoch weights when it stops', async () => {
    const model = new FakeModel();
    const es = callbacks.earlyStopping({ monitor: 'loss', patience: 2, restoreBestWeights: true });
    const ran = await train(model, [es], 6, series('loss', [1.0, 0.5, 0.7, 0.8, 0.1, 0.1]));
    expect(ran).toEqual([0, 1, 2, 3]);
    // getWeights() returns live views: only a copy taken at epoch 1 can hold 1s now.
    expect(Array.from(model.weights[0])).toEqual([1, 1, 1]);
    expect(Array.from(model.weights[1])).toEqual([1, 1]);
  });

  it('restoreBestWeights also restores at train end when training ran to the end', async () => {
    const model = new FakeModel();
    const es = callbacks.earlyStopping({ monitor: 'loss', patience: 5, restoreBestWeights: true });
    const list = new CallbackList([es]);
    list.setModel(model);
    await list.onTrainBegin();
    const losses = [1.0, 0.5, 0.7];
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const w of model.weights) w.fill(epoch);
      await list.onEpochEnd(epoch, { loss: losses[epoch] });
    }
    expect(model.stopTraining).toBe(false);
    expect(model.weights[0][0]).toBe(2);
    await list.onTrainEnd();
    expect(Array.from(model.weights[0])).toEqual([1, 1, 1]);
    expect(es.stoppedEpoch).toBeUndefined();
  });

  it('warns once when the monitored key is missing and never stops', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const es = callbacks.earlyStopping();
      const ran = await train(new FakeModel(), [es], 3, () => ({ loss: 1 }));
      expect(ran).toEqual([0, 1, 2]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toContain("monitors 'val_loss'");
      expect(warn.mock.calls[0][0]).toContain('available: loss');
    } finally {
      warn.mockRestore();
    }
  });

  it('validates its options', () => {
    expect(() => callbacks.earlyStopping({ patience: -1 })).toThrow('Expected an integer >= 0 for patience but received -1');
    expect(() => callbacks.earlyStopping({ mode: 'up' as never })).toThrow(RnnError);
    expect(() => callbacks.earlyStopping({ patient: 3 } as never)).toThrow("did you mean 'patience'");
    expect(() => callbacks.earlyStopping({ restoreBestWeights: 1 } as never)).toThrow(RnnError);
  });
});

describe('reduceLROnPlateau', () => {
  async function schedule(options: object, losses: number[]): Promise<number[]> {
    const model = new FakeModel();
    const lrs: number[] = [];
    const recorder: Callback = { onEpochEnd: () => void lrs.push(model.optimizer.learningRate) };
    await train(model, [callbacks.reduceLROnPlateau({ monitor: 'loss', ...options }), recorder], losses.length, series('loss', losses));
    return lrs;
  }

  it('halves after `patience` flat epochs, with cooldown', async () => {
    const flat = [1, 1, 1, 1, 1, 1, 1];
    expect(await schedule({ factor: 0.5, patience: 2 }, flat)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]);
    // Keras counts the cooldown epoch as the end of cooldown and starts waiting again in the same epoch.
    expect(await schedule({ factor: 0.5, patience: 2, cooldown: 2 }, flat)).toEqual([1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]);
  });

  it('respects minLr and minDelta, and improvement resets the wait', async () => {
    expect(await schedule({ factor: 0.5, patience: 1, minLr: 0.3 }, [1, 1, 1, 1])).toEqual([1, 0.5, 0.3, 0.3]);
    // 0.99995 is not an improvement with the default minDelta 1e-4, 0.9 is.
    expect(await schedule({ factor: 0.5, patience: 1 }, [1, 0.99995, 0.9, 0.9])).toEqual([1, 0.5, 0.5, 0.25]);
  });

  it('validates factor', () => {
    expect(() => callbacks.reduceLROnPlateau({ factor: 1 })).toThrow('< 1');
    expect(() => callbacks.reduceLROnPlateau({ factor: 0 })).toThrow('> 0');
  });
});

describe('learningRateScheduler', () => {
  it('sets the rate at each epoch begin from (epoch, lr)', async () => {
    const model = new FakeModel();
    const seen: number[] = [];
    const scheduler = callbacks.learningRateScheduler((epoch, lr) => (epoch < 2 ? lr : lr * 0.5));
    const recorder: Callback = { onEpochBegin: () => void seen.push(model.optimizer.learningRate) };
    await train(model, [scheduler, recorder], 4, () => ({ loss: 1 }));
    expect(seen).toEqual([1, 1, 0.5, 0.25]);
  });

  it('rejects a non-function and a bad returned rate', async () => {
    expect(() => callbacks.learningRateScheduler(0.1 as never)).toThrow(RnnError);
    const bad = callbacks.learningRateScheduler(() => NaN);
    await expect(train(new FakeModel(), [bad], 1, () => ({}))).rejects.toThrow(
      'Expected a finite number >= 0 for the learning rate returned by the schedule for epoch 0 but received NaN',
    );
  });
});

describe('terminateOnNaN', () => {
  it('stops on a NaN or infinite batch loss only', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const model = new FakeModel();
      const list = new CallbackList([callbacks.terminateOnNaN()]);
      list.setModel(model);
      await list.onBatchEnd(0, { loss: 0.5, size: 4 });
      expect(model.stopTraining).toBe(false);
      await list.onBatchEnd(1, { loss: NaN, size: 4 });
      expect(model.stopTraining).toBe(true);
      expect(warn.mock.calls[0][0]).toContain('Batch 1: loss is NaN');
      const other = new FakeModel();
      list.setModel(other);
      await list.onEpochEnd(0, { loss: Infinity });
      expect(other.stopTraining).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('csvLogger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnkit-csv-'));
  const logs = (epoch: number): Logs => ({ val_loss: 0.6 - epoch / 10, loss: 0.5 - epoch / 10, accuracy: 0.75 });

  it('writes a sorted header and one row per epoch, overwriting by default', async () => {
    const path = join(dir, 'log.csv');
    writeFileSync(path, 'old content\n');
    await train(new FakeModel(), [callbacks.csvLogger(path)], 2, logs);
    expect(readFileSync(path, 'utf8')).toBe('epoch,accuracy,loss,val_loss\n0,0.75,0.5,0.6\n1,0.75,0.4,0.5\n');
  });

  it('appends without repeating the header, with a custom separator and NA for missing keys', async () => {
    const path = join(dir, 'append.csv');
    await train(new FakeModel(), [callbacks.csvLogger(path, { separator: ';', append: true })], 1, logs);
    await train(new FakeModel(), [callbacks.csvLogger(path, { separator: ';', append: true })], 2, (e) =>
      e === 0 ? logs(e) : { loss: 0.25 },
    );
    expect(readFileSync(path, 'utf8')).toBe(
      'epoch;accuracy;loss;val_loss\n0;0.75;0.5;0.6\n0;0.75;0.5;0.6\n1;NA;0.25;NA\n',
    );
  });

  it('reports write failures as IO errors and validates options', async () => {
    const bad = callbacks.csvLogger(join(dir, 'missing-dir', 'x.csv'));
    await expect(train(new FakeModel(), [bad], 1, logs)).rejects.toMatchObject({ code: 'IO' });
    expect(() => callbacks.csvLogger('x.csv', { separator: '' })).toThrow(RnnError);
    expect(() => callbacks.csvLogger('x.csv', { delimiter: ';' } as never)).toThrow("Unknown option 'delimiter'");
  });
});

describe('modelCheckpoint', () => {
  it('saves every epoch with {epoch} replaced by the 1-based epoch', async () => {
    const model = new SavingModel();
    await train(model, [callbacks.modelCheckpoint('ckpt-{epoch}.bin')], 3, series('val_loss', [1, 0.8, 0.9]));
    expect(model.saved).toEqual(['ckpt-1.bin', 'ckpt-2.bin', 'ckpt-3.bin']);
  });

  it('saveBestOnly saves only improving epochs, in the monitored direction', async () => {
    const model = new SavingModel();
    await train(model, [callbacks.modelCheckpoint('m-{epoch}', { saveBestOnly: true })], 4, series('val_loss', [1, 0.8, 0.9, 0.7]));
    expect(model.saved).toEqual(['m-1', 'm-2', 'm-4']);
    const acc = new SavingModel();
    const cb = callbacks.modelCheckpoint('best', { saveBestOnly: true, monitor: 'val_acc' });
    await train(acc, [cb], 4, series('val_acc', [0.5, 0.4, 0.6, 0.6]));
    expect(acc.saved).toEqual(['best', 'best']);
  });

  it('explains a model without save() with a STATE error', () => {
    const list = new CallbackList([callbacks.modelCheckpoint('x')]);
    let error: unknown;
    try {
      list.setModel(new FakeModel());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RnnError);
    expect((error as RnnError).code).toBe('STATE');
    expect((error as RnnError).message).toContain('save(path)');
  });
});

describe('CallbackList', () => {
  it('calls hooks in order and awaits async ones before the next', async () => {
    const events: string[] = [];
    const slow: Callback = {
      onEpochEnd: async (epoch) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`slow ${epoch}`);
      },
    };
    const fast: Callback = { onEpochEnd: (epoch) => void events.push(`fast ${epoch}`) };
    const list = new CallbackList([slow, fast]);
    await list.onEpochEnd(0);
    await list.onEpochEnd(1);
    expect(events).toEqual(['slow 0', 'fast 0', 'slow 1', 'fast 1']);
  });

  it('passes params and logs, and rejects malformed callbacks', async () => {
    let params: TrainParams | undefined;
    let batchLogs: Logs | undefined;
    const list = new CallbackList([{ setParams: (p) => (params = p), onBatchEnd: (_b, l) => void (batchLogs = l) }]);
    list.setParams(PARAMS);
    await list.onBatchEnd(3, { loss: 1, size: 2 });
    expect(params).toBe(PARAMS);
    expect(batchLogs).toEqual({ loss: 1, size: 2 });
    expect(() => new CallbackList([null as never])).toThrow('Expected a callback object for callbacks[0] but received null');
    expect(() => new CallbackList([{ onEpochEnd: 5 } as never])).toThrow('callbacks[0].onEpochEnd');
  });
});

describe('History', () => {
  it('records epochs and one list per key', () => {
    const h = new History();
    const logs = { loss: 0.5, acc: 0.7 };
    h.record(0, logs);
    logs.loss = 99;
    h.record(1, { loss: 0.4, acc: 0.8, val_loss: 0.45 });
    expect(h.epoch).toEqual([0, 1]);
    expect(h.history).toEqual({ loss: [0.5, 0.4], acc: [0.7, 0.8], val_loss: [0.45] });
  });
});
