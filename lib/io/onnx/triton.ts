/**
 * A Triton Inference Server `config.pbtxt` (protobuf text of Triton's ModelConfig, model_config.proto) for the ONNX
 * file `model.save(path, { format: 'onnx', stateInputs })` writes, made from the same export so names and shapes
 * always agree.
 *
 * Stateless: `input` / `output` with dims that leave out the batch axis (`max_batch_size` > 0 batches on it) and -1
 * for the dynamic time axis. With stateInputs: the sequence batcher keeps each recurrent layer's state inside Triton
 * (implicit state): `sequence_batching { state [ { input_name, output_name, data_type, dims, initial_state
 * { zero_data } } ] }`; the state tensors are not listed as model inputs or outputs, and zero_data makes Triton
 * start every new sequence from a zero state, as rnnkit does. No `control_input` is written: Triton feeds a
 * control tensor to the model as an input, and the exported graph has none (the zero initial state is the reset).
 */
import { RnnError } from '../../errors';
import type { Model } from '../../models/model';
import { checkBoolean, checkInteger, checkKnownKeys, invalid, optionsOrEmpty } from '../../validate';
import { describeModel } from './description';
import { buildOnnxModel, OnnxSignature } from './export';
import { OPSET_RANGE, OnnxDim, OnnxDtype, ValueInfo } from './graph_builder';

/** Options of {@link tritonConfig}. */
export interface TritonConfigOptions {
  /** The model's name in Triton's repository (its folder name). Default: the model's name. */
  name?: string;
  /** Triton's max_batch_size: the most requests batched together; 0 disables batching. Default 8. */
  maxBatchSize?: number;
  /** Whether the ONNX file was exported with `stateInputs: true` (then the sequence batcher keeps the states). Default false. */
  stateInputs?: boolean;
  /** With stateInputs: how long a sequence may be idle before Triton frees its slot, in microseconds. Default Triton's (1 s). */
  maxSequenceIdleMicroseconds?: number;
}

const TRITON_TYPES: Record<OnnxDtype, string> = { float32: 'TYPE_FP32', int64: 'TYPE_INT64', int32: 'TYPE_INT32' };

/**
 * The `config.pbtxt` text for serving `model`'s ONNX export with Triton's onnxruntime backend. Put the file at
 * `<repository>/<name>/config.pbtxt` and the export at `<repository>/<name>/1/model.onnx`.
 */
export function tritonConfig(model: Model, options?: TritonConfigOptions): string {
  const opts = optionsOrEmpty(options, 'tritonConfig options');
  checkKnownKeys(opts, ['name', 'maxBatchSize', 'stateInputs', 'maxSequenceIdleMicroseconds'], 'tritonConfig options');
  const name = opts.name === undefined ? model.name : opts.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw invalid('ARGUMENT', 'a model name of letters, digits, _, . and - (it is a folder name in the repository)', 'name', name);
  }
  const stateInputs = opts.stateInputs === undefined ? false : checkBoolean(opts.stateInputs, 'stateInputs');
  const maxBatchSize = opts.maxBatchSize === undefined ? 8 : checkInteger(opts.maxBatchSize, 'maxBatchSize', { min: stateInputs ? 1 : 0 });
  if (opts.maxSequenceIdleMicroseconds !== undefined && !stateInputs) {
    throw new RnnError('ARGUMENT', 'Expected maxSequenceIdleMicroseconds only with stateInputs true (it configures the sequence batcher) but received it without');
  }
  const idle = opts.maxSequenceIdleMicroseconds === undefined ? undefined : checkInteger(opts.maxSequenceIdleMicroseconds, 'maxSequenceIdleMicroseconds', { min: 1 });
  const { signature } = buildOnnxModel(describeModel(model), { stateInputs, opset: OPSET_RANGE.default });
  if (stateInputs && signature.states.length === 0) {
    throw new RnnError('ARGUMENT', `Expected a model with a recurrent layer for stateInputs true but model '${model.name}' has none`);
  }
  return renderConfig(name, maxBatchSize, signature, idle);
}

function renderConfig(name: string, maxBatchSize: number, signature: OnnxSignature, idle?: number): string {
  const stateNames = new Set(signature.states.flatMap((s) => [s.input, s.output]));
  const dims = (d: OnnxDim[]) => `[ ${(maxBatchSize > 0 ? d.slice(1) : d).map((x) => (typeof x === 'number' ? x : -1)).join(', ')} ]`;
  const tensor = (info: ValueInfo) => `  {\n    name: "${info.name}"\n    data_type: ${TRITON_TYPES[info.dtype]}\n    dims: ${dims(info.dims)}\n  }`;
  const lines = [
    `name: "${name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatchSize}`,
    `input [\n${signature.inputs.filter((i) => !stateNames.has(i.name)).map(tensor).join(',\n')}\n]`,
    `output [\n${signature.outputs.filter((o) => !stateNames.has(o.name)).map(tensor).join(',\n')}\n]`,
  ];
  if (signature.states.length > 0) {
    const states = signature.states.map((s) => {
      const stateDims = dims(s.dims);
      return [
        '    {',
        `      input_name: "${s.input}"`,
        `      output_name: "${s.output}"`,
        '      data_type: TYPE_FP32',
        `      dims: ${stateDims}`,
        '      initial_state: {',
        '        data_type: TYPE_FP32',
        `        dims: ${stateDims}`,
        '        zero_data: true',
        `        name: "${s.input.slice(0, -'_in'.length)}_zeros"`,
        '      }',
        '    }',
      ].join('\n');
    });
    lines.push([
      'sequence_batching {',
      ...(idle === undefined ? [] : [`  max_sequence_idle_microseconds: ${idle}`]),
      `  state [\n${states.join(',\n')}\n  ]`,
      '}',
    ].join('\n'));
  }
  return `${lines.join('\n')}\n`;
}
