/**
 * The two streaming examples end to end at their `--smoke` size (a few seconds each), as a user runs them (node,
 * against dist/). What must hold whatever the (barely trained) weights: the script exits 0, the steps of concurrent
 * streams share native calls (mean batch = streams), and for streams.js every streamed answer equals model.predict
 * on the whole clip (the script exits 1 otherwise). `--quick` and the default sizes run by hand (README).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.join(__dirname, '..');

function runExample(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 90000 });
}

function hasTool(tool: string): boolean {
  return !spawnSync(tool, ['--version'], { stdio: 'ignore' }).error;
}

describe('examples/char-lstm.js --smoke', () => {
  test('trains, then generates for 6 streams whose steps share the native calls', () => {
    // lib/streams as the corpus: present in every checkout, unlike the fortunes package.
    const run = runExample(['examples/char-lstm.js', '--smoke', '--corpus', 'lib/streams']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/round +2\/2: train loss [\d.]+, held-out loss [\d.]+/);
    expect(run.stdout.match(/^--- temperature /gm)).toHaveLength(6);
    // 8 characters after the prime: 9 native calls whatever the number of streams, 6 streams in each.
    expect(run.stdout).toMatch(/^ +1 +\d+ +9 +1\.0 /m);
    expect(run.stdout).toMatch(/^ +6 +\d+ +9 +6\.0 /m);
  }, 100000);
});

describe('examples/streams.js --smoke', () => {
  // espeak-ng and sox synthesise the speech; .ci/run installs them, so CI fails without them and a checkout skips.
  const tools = hasTool('espeak-ng') && hasTool('sox');
  if (!tools && process.env.CI === undefined) {
    console.warn('stream-examples.test.ts: espeak-ng or sox is not installed (apt-get install espeak-ng sox), so the speech streams example is skipped');
  }
  (tools || process.env.CI !== undefined ? test : test.skip)('streams spoken digits frame by frame, each answer equal to whole-clip predict', () => {
    const run = runExample(['examples/streams.js', '--smoke']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // 2 words of 32 frames per stream: 64 native calls when the 8 streams share them, 512 one by one.
    expect(run.stdout).toMatch(/^ +8 +concurrent +\d+ +64 +8\.0 /m);
    expect(run.stdout).toMatch(/^ +8 +one by one +\d+ +512 +1\.0 /m);
    expect(run.stdout).toMatch(/differs from predict on the whole clip: 0 of 512 \(largest probability difference [\d.]+e[-+]\d+\)/);
  }, 100000);
});
