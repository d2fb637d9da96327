/**
 * rk.crossValidate: k-fold cross-validation of a model builder, or of several candidate builders on the same folds
 * (e.g. to choose a hidden size). Every fold trains a fresh model from the builder on k-1 folds and evaluates it on
 * the held-out fold.
 */
import { RnnError } from '../errors';
import { Model } from '../models/model';
import type { CompileArgs } from '../models/sequential';
import { checkOneInputOneOutput } from './clone';
import { resolveOptimizer } from '../optimizers';
import { DEFAULT_BATCH_SIZE } from '../training/data';
import { globalRandom, Random } from '../random';
import { TensorLike, toTensor } from '../tensor';
import type { FitOptions } from '../training/fit';
import { resolveMode } from '../training/callback_base';
import { checkFunction, checkInteger, checkKnownKeys, invalid, isPlainObject, optionsOrEmpty } from '../validate';
import { takeRows } from './folds';

export interface CrossValidateOptions {
  /** Number of folds k (>= 2). Default 5. */
  folds?: number;
  /** Passed to every fold's fit. fit's own verbose defaults to 0 here. */
  fitOptions?: FitOptions;
  /** Compile settings applied to every fold's model (the optimizer is cloned per fold). Default: the builder compiles. */
  compile?: CompileArgs;
  /** Seed of the fold assignment (samples are shuffled before splitting). Default: from rk.setSeed's generator. */
  seed?: number;
  /** Metric that picks the best candidate ('loss', 'accuracy', ...; lower is better unless it is an accuracy). Default 'loss'. */
  monitor?: string;
  /** 0 silent; 1 one line per fold. Default 1. */
  verbose?: 0 | 1;
}

/** Held-out metrics of one builder. */
export interface CrossValidationResult {
  /** Per fold: the evaluate() result on the held-out fold, e.g. `{ loss, accuracy }`. */
  folds: Record<string, number>[];
  /** Mean over folds, per metric. */
  mean: Record<string, number>;
  /** Sample standard deviation over folds (divisor k - 1), per metric. */
  std: Record<string, number>;
}

export interface CandidatesResult {
  /** Results by candidate name; every candidate saw the same folds. */
  candidates: Record<string, CrossValidationResult>;
  /** The candidate with the best mean of `monitor`. */
  best: string;
  monitor: string;
}

const CV_KEYS = ['folds', 'fitOptions', 'compile', 'seed', 'monitor', 'verbose'] as const;

/** Fold f's held-out rows: contiguous chunks of a seeded permutation, sizes differing by at most one. @internal */
export function foldRows(samples: number, folds: number, rng: Random): number[][] {
  const order = Array.from({ length: samples }, (_, i) => i);
  rng.shuffle(order);
  return Array.from({ length: folds }, (_, f) => {
    const start = Math.floor((f * samples) / folds);
    const end = Math.floor(((f + 1) * samples) / folds);
    return order.slice(start, end).sort((a, b) => a - b);
  });
}

function summarise(folds: Record<string, number>[]): CrossValidationResult {
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const key of Object.keys(folds[0])) {
    const values = folds.map((f) => f[key]);
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1);
    mean[key] = m;
    std[key] = Math.sqrt(variance);
  }
  return { folds, mean, std };
}

function compileFor(model: Model, compile: CompileArgs | undefined, label: string): void {
  if (!(model instanceof Model)) throw invalid('ARGUMENT', 'a model (rk.sequential or rk.model) returned by the builder', label, model);
  checkOneInputOneOutput(model, 'crossValidate');
  if (compile) {
    // A fresh optimizer per fold: one optimizer object cannot serve two models.
    model.compile({ ...compile, optimizer: resolveOptimizer(compile.optimizer)?.clone() ?? compile.optimizer });
    return;
  }
  if (!model.isCompiled) {
    throw new RnnError('ARGUMENT', `Expected ${label} to return a compiled model, or compile settings in crossValidate options, but model '${model.name}' is not compiled`);
  }
}

type Builder = () => Model;

/** Cross-validates one builder: per-fold held-out metrics with their mean and spread. */
export async function crossValidate(buildModel: Builder, x: TensorLike, y: TensorLike, options?: CrossValidateOptions): Promise<CrossValidationResult>;
/** Cross-validates several builders on the same folds and names the best by `monitor`. */
export async function crossValidate(candidates: Record<string, Builder>, x: TensorLike, y: TensorLike, options?: CrossValidateOptions): Promise<CandidatesResult>;
export async function crossValidate(
  builders: Builder | Record<string, Builder>, x: TensorLike, y: TensorLike, options: CrossValidateOptions = {},
): Promise<CrossValidationResult | CandidatesResult> {
  const opts = optionsOrEmpty(options, 'crossValidate options');
  checkKnownKeys(opts, CV_KEYS, 'crossValidate options');
  const single = typeof builders === 'function';
  if (!single && (!isPlainObject(builders) || Object.keys(builders).length === 0)) {
    throw invalid('ARGUMENT', 'a model builder () => Model or an object { name: builder }', 'crossValidate candidates', builders);
  }
  const named: Record<string, Builder> = single ? { model: builders as Builder } : {};
  if (!single) for (const [name, b] of Object.entries(builders)) named[name] = checkFunction(b, `candidates['${name}']`) as unknown as Builder;
  const folds = opts.folds === undefined ? 5 : checkInteger(opts.folds, 'folds', { min: 2 });
  const fitOptions = { verbose: 0 as const, ...optionsOrEmpty(opts.fitOptions, 'fitOptions') };
  if (fitOptions.validationSplit !== undefined || fitOptions.validationData !== undefined) {
    throw new RnnError('ARGUMENT', 'Expected fitOptions without validationSplit or validationData (each fold is evaluated on its held-out part) but received one');
  }
  const verbose = opts.verbose === undefined ? 1 : checkInteger(opts.verbose, 'verbose', { min: 0, max: 1 });
  const seed = opts.seed === undefined ? globalRandom().integer(0x7fffffff) : checkInteger(opts.seed, 'seed', { min: 0 });
  if (opts.monitor !== undefined && (typeof opts.monitor !== 'string' || opts.monitor.length === 0)) throw invalid('ARGUMENT', 'a metric name', 'monitor', opts.monitor);
  const monitor = opts.monitor ?? 'loss';

  const xs = toTensor(x, 'x');
  const ys = toTensor(y, 'y');
  const samples = xs.shape[0];
  if (ys.shape[0] !== samples) throw new RnnError('SHAPE', `Expected y to hold ${samples} samples (one per sample of x) but received ${ys.shape[0]}`);
  if (samples < folds) throw new RnnError('ARGUMENT', `Expected at least ${folds} samples for ${folds} folds but received ${samples}`);
  const heldOut = foldRows(samples, folds, new Random(seed));

  const results: Record<string, CrossValidationResult> = {};
  for (const [name, build] of Object.entries(named)) {
    const perFold: Record<string, number>[] = [];
    for (let f = 0; f < folds; f++) {
      const held = new Set(heldOut[f]);
      const trainRows = Array.from({ length: samples }, (_, i) => i).filter((i) => !held.has(i));
      const label = single ? 'buildModel' : `candidates['${name}']`;
      const model = build();
      compileFor(model, opts.compile, label);
      await model.fit(takeRows(xs, trainRows), takeRows(ys, trainRows), fitOptions);
      const metrics = await model.evaluate(takeRows(xs, heldOut[f]), takeRows(ys, heldOut[f]), { batchSize: fitOptions.batchSize ?? DEFAULT_BATCH_SIZE });
      perFold.push(metrics);
      if (!single && !(monitor in metrics)) throw invalid('ARGUMENT', `a metric the models report (${Object.keys(metrics).join(', ')})`, 'monitor', monitor);
      if (verbose) {
        const shown = Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
        console.log(`crossValidate ${single ? '' : `'${name}' `}fold ${f + 1}/${folds}: ${shown}`);
      }
    }
    results[name] = summarise(perFold);
  }
  if (single) return results.model;
  const names = Object.keys(results);
  const direction = resolveMode('auto', monitor);
  const best = names.reduce((a, b) => {
    const [va, vb] = [results[a].mean[monitor], results[b].mean[monitor]];
    return (direction === 'min' ? vb < va : vb > va) ? b : a;
  });
  return { candidates: results, best, monitor };
}
