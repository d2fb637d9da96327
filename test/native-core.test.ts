/**
 * Runs the native float64 check executable (kernels, cells and layer ops: finite-difference gradients and hand
 * values), built by `npm test`'s pretest step (`npm run build:native-tests`, the CMake target rnnkit_native_tests),
 * and fails with every "FAIL ..." line it printed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const buildDir = path.join(__dirname, '..', 'build');
const executableName = process.platform === 'win32' ? 'rnnkit_native_tests.exe' : 'rnnkit_native_tests';
// Single-config generators (Ninja, Make) put it in build/; multi-config ones (Visual Studio, Xcode) in build/Release/.
const candidates = [path.join(buildDir, executableName), path.join(buildDir, 'Release', executableName)];

test('the native float64 checks (build/rnnkit_native_tests) all pass', () => {
  const executable = candidates.find((file) => fs.existsSync(file));
  if (executable === undefined) {
    throw new Error(`The native check executable is missing (looked for ${candidates.join(' and ')}): ` +
      'run `npm test`, whose pretest step builds it, or `npm run build:native-tests`');
  }
  const run = spawnSync(executable, [], { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  if (run.error) throw new Error(`Could not run ${executable}: ${run.error.message}`);
  const lines = run.stdout.split(/\r?\n/);
  const failures = lines.filter((line) => line.startsWith('FAIL '));
  const summary = lines.filter((line) => /^\d+ passed, \d+ failed$/.test(line)).pop() ?? '(no summary line)';
  // One comparison, so a failure shows the exit status, every failing case and the stderr together.
  expect({ status: run.status, signal: run.signal, failures, summary, stderr: run.stderr.trim() }).toEqual({
    status: 0, signal: null, failures: [], summary: expect.stringMatching(/^[1-9]\d* passed, 0 failed$/), stderr: '',
  });
});
