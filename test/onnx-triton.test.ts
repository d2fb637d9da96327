/**
 * @jest-environment ./test/helpers/onnxruntime-environment.js
 */
/**
 * rk.onnx.tritonConfig: the config.pbtxt text agrees with the exported model as onnxruntime reads it (every input
 * fed by Triton or by its implicit state, names, data types, dims without the batch axis, -1 for dynamic axes), and
 * the stateful form matches the text written out by hand from Triton's model_config.proto.
 */
import * as ort from 'onnxruntime-node';
import * as rk from '../lib';
import { expectRnnError } from './helpers/checks';

interface ConfigTensor {
  name: string;
  dataType: string;
  dims: number[];
}

/** The `name` / `data_type` / `dims` entries of a config section (`input [...]`, `output [...]`, `state [...]`). */
function section(text: string, key: string, nameField = 'name'): ConfigTensor[] {
  const match = new RegExp(`(^|\\n)\\s*${key} \\[\\n([\\s\\S]*?)\\n\\s*\\]`).exec(text);
  if (!match) return [];
  return match[2].split(/\n\s*\},?\s*\n?\s*(?=\{|$)/).filter((b) => b.includes(nameField)).map((block) => ({
    name: /\b(?:input_)?name: "([^"]+)"/.exec(block.replace(/output_name: "[^"]+"/, ''))![1],
    dataType: /data_type: (\w+)/.exec(block)![1],
    dims: JSON.parse(/dims: (\[[^\]]*\])/.exec(block)![1]),
  }));
}

const ORT_TYPES: Record<string, string> = { float32: 'TYPE_FP32', int64: 'TYPE_INT64' };

/** onnxruntime's view of a graph value: its data type in Triton's words and its dims without the batch axis. */
function runtimeView(metadata: readonly ort.InferenceSession.ValueMetadata[], name: string): { dataType: string; dims: number[] } {
  const value = metadata.find((m) => m.name === name) as ort.InferenceSession.TensorValueMetadata | undefined;
  if (!value) throw new Error(`no graph value '${name}'`);
  return { dataType: ORT_TYPES[value.type], dims: value.shape.slice(1).map((d) => (typeof d === 'number' ? d : -1)) };
}

function statefulModel(): rk.Sequential {
  return rk.sequential({
    name: 'tagger',
    layers: [
      rk.layers.embedding({ inputDim: 50, outputDim: 8, inputShape: [10], name: 'embed' }),
      rk.layers.lstm({ units: 6, returnSequences: true, name: 'encoder' }),
      rk.layers.bidirectional({ layer: rk.layers.gru({ units: 4, returnSequences: true }), name: 'context' }),
      rk.layers.timeDistributed({ layer: rk.layers.dense({ units: 3, activation: 'softmax' }), name: 'tags' }),
    ],
  });
}

describe('rk.onnx.tritonConfig', () => {
  for (const stateInputs of [false, true]) {
    test(`agrees with the exported graph as onnxruntime reads it (stateInputs ${stateInputs})`, async () => {
      const model = statefulModel();
      const text = rk.onnx.tritonConfig(model, { maxBatchSize: 16, stateInputs });
      const session = await ort.InferenceSession.create(rk.onnx.toBytes(model, { stateInputs }));
      expect(text).toContain('platform: "onnxruntime_onnx"');
      expect(text).toContain('max_batch_size: 16');
      const inputs = section(text, 'input');
      const outputs = section(text, 'output');
      const states = section(text, 'state', 'input_name');
      expect([...inputs.map((i) => i.name), ...states.map((s) => s.name)].sort()).toEqual(session.inputNames.slice().sort());
      for (const tensor of inputs) expect({ dataType: tensor.dataType, dims: tensor.dims }).toEqual(runtimeView(session.inputMetadata, tensor.name));
      for (const tensor of outputs) expect({ dataType: tensor.dataType, dims: tensor.dims }).toEqual(runtimeView(session.outputMetadata, tensor.name));
      for (const state of states) {
        expect({ dataType: state.dataType, dims: state.dims }).toEqual(runtimeView(session.inputMetadata, state.name));
        expect(session.outputNames).toContain(state.name.replace(/_in$/, '_out'));
      }
      expect(inputs).toEqual([{ name: 'input', dataType: 'TYPE_INT64', dims: [-1] }]);
      expect(outputs).toEqual([{ name: 'output', dataType: 'TYPE_FP32', dims: [-1, 3] }]);
      expect(states.map((s) => s.name)).toEqual(stateInputs ? ['encoder_h_in', 'encoder_c_in', 'context_h_in'] : []);
      expect(text.includes('sequence_batching')).toBe(stateInputs);
    });
  }

  test('the stateful config, written out from model_config.proto', () => {
    const model = rk.sequential({ name: 'sensor', layers: [rk.layers.gru({ units: 4, inputShape: [5, 2], name: 'gru' })] });
    expect(rk.onnx.tritonConfig(model, { stateInputs: true, maxBatchSize: 4, maxSequenceIdleMicroseconds: 5000000 })).toBe([
      'name: "sensor"',
      'platform: "onnxruntime_onnx"',
      'max_batch_size: 4',
      'input [',
      '  {',
      '    name: "input"',
      '    data_type: TYPE_FP32',
      '    dims: [ -1, 2 ]',
      '  }',
      ']',
      'output [',
      '  {',
      '    name: "output"',
      '    data_type: TYPE_FP32',
      '    dims: [ 4 ]',
      '  }',
      ']',
      'sequence_batching {',
      '  max_sequence_idle_microseconds: 5000000',
      '  state [',
      '    {',
      '      input_name: "gru_h_in"',
      '      output_name: "gru_h_out"',
      '      data_type: TYPE_FP32',
      '      dims: [ 1, 4 ]',
      '      initial_state: {',
      '        data_type: TYPE_FP32',
      '        dims: [ 1, 4 ]',
      '        zero_data: true',
      '        name: "gru_h_zeros"',
      '      }',
      '    }',
      '  ]',
      '}',
      '',
    ].join('\n'));
  });

  test('without batching the dims keep the batch axis as -1', () => {
    const model = rk.sequential({ name: 'plain', layers: [rk.layers.simpleRNN({ units: 3, inputShape: [4, 2] })] });
    const text = rk.onnx.tritonConfig(model, { maxBatchSize: 0 });
    expect(section(text, 'input')).toEqual([{ name: 'input', dataType: 'TYPE_FP32', dims: [-1, -1, 2] }]);
    expect(section(text, 'output')).toEqual([{ name: 'output', dataType: 'TYPE_FP32', dims: [-1, 3] }]);
  });

  test('bad options are ARGUMENT errors', async () => {
    const model = rk.sequential({ layers: [rk.layers.dense({ units: 2, inputShape: [3] })] });
    await expectRnnError(() => rk.onnx.tritonConfig(model, { stateInputs: true }), 'ARGUMENT', /recurrent layer/);
    await expectRnnError(() => rk.onnx.tritonConfig(model, { name: 'a/b' }), 'ARGUMENT', /model name/);
    await expectRnnError(() => rk.onnx.tritonConfig(model, { maxSequenceIdleMicroseconds: 10 }), 'ARGUMENT', /only with stateInputs/);
    await expectRnnError(() => rk.onnx.tritonConfig(model, { maxBatchSize: -1 }), 'ARGUMENT', /maxBatchSize/);
  });
});
