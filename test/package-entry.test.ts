// The package as users load it: require('rnnkit') and `import * as rk from 'rnnkit'` both expose the API
// (dist/ is built by `npm run build`, which runs before the tests in the README and CI).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const entry = path.join(root, 'dist', 'index.js');

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

describe('package entry points', () => {
  it('dist/ exists (run `npm run build` first)', () => {
    expect(fs.existsSync(entry)).toBe(true);
  });

  it('works with require()', () => {
    const out = run(['-e', `const rk = require(${JSON.stringify(entry)}); const m = rk.sequential(); m.add(rk.layers.gru({ units: 3, inputShape: [4, 2] })); console.log(m.countParams(), typeof rk.layers.lstm, rk.backendInfo().eigen)`]);
    expect(out).toBe('63 function 3.4.0');  // GRU resetAfter: 2*9 + 3*9 + 2*9
  });

  it('works with ESM import * as rk', () => {
    const url = `file://${entry}`;
    const out = run(['--input-type=module', '-e', `import * as rk from ${JSON.stringify(url)}; const m = rk.sequential(); m.add(rk.layers.lstm({ units: 2, inputShape: [3, 1] })); console.log(m.countParams(), typeof rk.RnnError)`]);
    expect(out).toBe('32 function');
  });
});
