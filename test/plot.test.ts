// Charts: the learning-curve spec (hand-checked points), the plot callback's eager checks, and, through the built
// package in child processes (vega and vega-lite are ES modules, which jest's module system cannot import without
// --experimental-vm-modules), an SVG rendered by a real fit that converts to a PNG with rsvg-convert, and the
// DEPENDENCY error when vega is missing.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { learningCurvesSpec } from '../lib/plot/learning_curves';
import { callbacks } from '../lib/training/callbacks';
import { History } from '../lib/training/history';
import { thrown } from './helpers/checks';

const root = path.join(__dirname, '..');
const entry = path.join(root, 'dist', 'index.js');

function historyOf(epochs: Record<string, number>[]): History {
  const history = new History();
  epochs.forEach((logs, epoch) => history.record(epoch, logs));
  return history;
}

describe('learningCurvesSpec', () => {
  it('puts every log value at its 1-based epoch, validation values on their own line, one panel per metric', () => {
    const spec = learningCurvesSpec(historyOf([
      { loss: 0.9, accuracy: 0.5, val_loss: 1.0, val_accuracy: 0.4 },
      { loss: 0.6, accuracy: 0.7, val_loss: 0.8, val_accuracy: 0.6 },
    ]), { title: 'two epochs' }) as { title: string; data: { values: unknown[] }; facet: { column: { sort: string[] } } };
    expect(spec.title).toBe('two epochs');
    expect(spec.facet.column.sort).toEqual(['loss', 'accuracy']);
    expect(spec.data.values).toEqual([
      { epoch: 1, metric: 'loss', split: 'training', value: 0.9 },
      { epoch: 1, metric: 'accuracy', split: 'training', value: 0.5 },
      { epoch: 1, metric: 'loss', split: 'validation', value: 1.0 },
      { epoch: 1, metric: 'accuracy', split: 'validation', value: 0.4 },
      { epoch: 2, metric: 'loss', split: 'training', value: 0.6 },
      { epoch: 2, metric: 'accuracy', split: 'training', value: 0.7 },
      { epoch: 2, metric: 'loss', split: 'validation', value: 0.8 },
      { epoch: 2, metric: 'accuracy', split: 'validation', value: 0.6 },
    ]);
  });

  it('leaves non-finite values out (a diverged loss) and keeps the rest', () => {
    const spec = learningCurvesSpec(historyOf([{ loss: 0.5 }, { loss: NaN }, { loss: Infinity }])) as { data: { values: unknown[] } };
    expect(spec.data.values).toEqual([{ epoch: 1, metric: 'loss', split: 'training', value: 0.5 }]);
  });

  it('refuses a history whose lists do not have one value per epoch', () => {
    const history = historyOf([{ loss: 1 }, { loss: 0.5 }]);
    history.history.accuracy = [0.7];
    const e = thrown(() => learningCurvesSpec(history));
    expect(e.code).toBe('ARGUMENT');
    expect(e.message).toBe("Expected 2 values of 'accuracy' in the history (one per epoch) but received 1: the chart cannot tell which epochs they belong to");
  });

  it('refuses something that is not a History, and a title that is not a string', () => {
    expect(thrown(() => learningCurvesSpec([] as unknown as History)).message).toBe('Expected the History returned by fit for history but received array(0)');
    expect(thrown(() => learningCurvesSpec(historyOf([]), { title: 3 as unknown as string })).code).toBe('ARGUMENT');
  });
});

describe('callbacks.plot', () => {
  it('checks its path and options when it is created, not when fit ends', () => {
    expect(thrown(() => callbacks.plot('')).message).toBe('Expected a non-empty file path for plot but received ""');
    expect(thrown(() => callbacks.plot('c.svg', { titel: 'x' } as never)).code).toBe('ARGUMENT');
    expect(thrown(() => callbacks.plot('c.svg', { title: 3 as unknown as string })).code).toBe('ARGUMENT');
  });
});

/** Runs `script` (CommonJS, `rk` bound to the built package) in a child node and returns its stdout. */
function runWithPackage(script: string, extraArgs: string[] = []): string {
  const result = spawnSync(process.execPath, [...extraArgs, '-e', `const rk = require(${JSON.stringify(entry)});\n${script}`], {
    cwd: root, encoding: 'utf8', timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`child exited with ${result.status}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A 3-epoch fit of a tiny GRU classifier with validation, so the chart has two panels and two lines each. */
const FIT_WITH_PLOT = (svgPath: string, extra = '') => `
  rk.setSeed(3);
  const x = rk.tensor(Float32Array.from({ length: 64 * 5 * 2 }, (_, i) => Math.sin(i * 0.37)), [64, 5, 2]);
  const y = rk.tensor(Float32Array.from({ length: 64 * 2 }, (_, i) => (i % 2 === (Math.floor(i / 2) % 3 === 0 ? 0 : 1) ? 1 : 0)), [64, 2]);
  const model = rk.sequential();
  model.add(rk.layers.gru({ units: 4, inputShape: [5, 2] }));
  model.add(rk.layers.dense({ units: 2, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  let epochsRun = 0;
  ${extra}
  model.fit(x, y, { epochs: 3, batchSize: 16, validationSplit: 0.25, verbose: 0,
    callbacks: [{ onEpochBegin: () => { epochsRun++; } }, rk.callbacks.plot(${JSON.stringify(svgPath)}, { title: 'tiny GRU' })] })
    .then(() => console.log(JSON.stringify({ ok: true, epochsRun })),
          (e) => console.log(JSON.stringify({ ok: false, epochsRun, code: e.code, message: e.message })));`;

function hasRsvgConvert(): boolean {
  return spawnSync('rsvg-convert', ['--version']).status === 0;
}

/** Width and height from a PNG's IHDR chunk (bytes 16-23), after checking the 8-byte signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('charts rendered by vega (the built package, in a child process)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-plot-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('dist/ exists (run `npm run build` first)', () => {
    expect(fs.existsSync(entry)).toBe(true);
  });

  it('rk.callbacks.plot writes an SVG of the learning curves when fit ends', () => {
    const svgPath = path.join(dir, 'curves.svg');
    expect(JSON.parse(runWithPackage(FIT_WITH_PLOT(svgPath)))).toEqual({ ok: true, epochsRun: 3 });
    const svg = fs.readFileSync(svgPath, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['tiny GRU', 'loss', 'accuracy', 'training', 'validation', 'epoch']) expect(svg).toContain(`>${text}<`);
  });

  // rsvg-convert comes from Debian's librsvg2-bin, which .ci/run installs; CI fails without it, a checkout skips.
  const rsvg = hasRsvgConvert();
  if (!rsvg && process.env.CI === undefined) {
    console.warn('plot.test.ts: rsvg-convert is not installed (apt-get install librsvg2-bin), so the PNG conversion test is skipped');
  }
  (rsvg || process.env.CI !== undefined ? it : it.skip)('the SVG converts to a PNG of the same size with rsvg-convert', () => {
    const svgPath = path.join(dir, 'curves.svg');
    const pngPath = path.join(dir, 'curves.png');
    execFileSync('rsvg-convert', ['--format', 'png', '--output', pngPath, svgPath]);
    const size = pngSize(fs.readFileSync(pngPath));
    const svg = fs.readFileSync(svgPath, 'utf8');
    const declared = /^<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
    expect(declared).not.toBeNull();
    expect(size).toEqual({ width: Number(declared![1]), height: Number(declared![2]) });
    expect(size.width).toBeGreaterThan(400);  // two panels of 260 px side by side
  });

  it('without vega, fit stops with a DEPENDENCY error before its first epoch, and the rest of rnnkit works', () => {
    // A resolve hook that makes vega unresolvable, as in a project that never installed it.
    const hooks = `export async function resolve(specifier, context, next) {
      if (specifier === 'vega' || specifier === 'vega-lite') {
        const error = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
        error.code = 'ERR_MODULE_NOT_FOUND';
        throw error;
      }
      return next(specifier, context);
    }`;
    const register = `require('module').register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`;
    const svgPath = path.join(dir, 'never.svg');
    const out = JSON.parse(runWithPackage(`${register}\n${FIT_WITH_PLOT(svgPath)}`));
    expect(out).toEqual({
      ok: false, epochsRun: 0, code: 'DEPENDENCY',
      message: "Charts need the optional packages vega and vega-lite, and 'vega' is not installed: run `npm install vega@6 vega-lite@6` in your project",
    });
    expect(fs.existsSync(svgPath)).toBe(false);
  });
});
