/**
 * Lets a plain Node process or worker thread load rnnkit's TypeScript sources (lib/) directly, not dist/ (which may be
 * stale): a require hook transpiles each .ts file once with typescript.transpileModule and caches the output in
 * `cacheDir`, so later processes start quickly. Returns rnnkit's public API (lib/index.ts).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

function loadRnnkit(cacheDir) {
  fs.mkdirSync(cacheDir, { recursive: true });
  let typescript;
  require.extensions['.ts'] = (module, filename) => {
    const source = fs.readFileSync(filename, 'utf8');
    const key = crypto.createHash('sha1').update(filename).update(source).digest('hex');
    const cached = path.join(cacheDir, `${key}.js`);
    let output;
    try {
      output = fs.readFileSync(cached, 'utf8');
    } catch {
      typescript = typescript || require('typescript');
      output = typescript.transpileModule(source, {
        fileName: filename,
        compilerOptions: { module: typescript.ModuleKind.CommonJS, target: typescript.ScriptTarget.ES2020, esModuleInterop: true },
      }).outputText;
      const temporary = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      fs.writeFileSync(temporary, output);
      fs.renameSync(temporary, cached);
    }
    module._compile(output, filename);
  };
  return require(path.join(__dirname, '..', '..', 'lib'));
}

module.exports = { loadRnnkit };
