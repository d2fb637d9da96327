/**
 * The jest environment of the onnxruntime tests: onnxruntime-node makes its output arrays in Node's own realm and
 * checks inputs with `instanceof Float32Array`, which fails across jest's sandbox realm; the test's typed arrays are
 * therefore Node's own.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = ['ArrayBuffer', 'Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array', 'BigInt64Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'BigUint64Array'];

class OnnxruntimeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxruntimeEnvironment;
