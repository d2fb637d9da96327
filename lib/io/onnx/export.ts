/**
 * The ONNX export: `model.save('model.onnx', { format: 'onnx', stateInputs?, opset? })`, and the signature (names,
 * types, shapes of the graph inputs and outputs) that `rk.onnx.tritonConfig` describes for Triton.
 *
 * Graph inputs are batch-major with a dynamic batch axis ('batch') and, on sequences, a dynamic time axis ('time':
 * every layer the exporter writes works on any number of steps). Token ids (a model that starts with an Embedding)
 * are int64; everything else is float32. Inference only: Dropout is the identity, recurrent dropout is off.
 */
import { RnnError } from '../../errors';
import { checkBoolean, checkInteger, checkKnownKeys, optionsOrEmpty } from '../../validate';
import { packageVersion } from '../model_plan';
import type { ModelDescription } from './description';
import { GraphBuilder, OnnxDim, OPSET_RANGE, ValueInfo } from './graph_builder';
import { emitNode, readsTokenIds } from './layers';
import { EmitContext, GraphValue } from './values';

/** Options of the ONNX export (with `format: 'onnx'` in `model.save`). */
export interface OnnxExportOptions {
  /**
   * Expose every recurrent layer's state: inputs `<layer>_h_in` (and `<layer>_c_in` for an LSTM) with its initial
   * state and outputs `<layer>_h_out` / `<layer>_c_out` with its final one, each [batch, directions, units], so a
   * serving system can carry the state from one call to the next. Default false (states start at zero).
   */
  stateInputs?: boolean;
  /** The ONNX opset (default-domain version) to write, 14 to 21. Default 17. */
  opset?: number;
}

/** The exported graph's inputs and outputs. */
export interface OnnxSignature {
  /** The graph inputs: the model's, then the state inputs (stateInputs). */
  inputs: ValueInfo[];
  /** The graph outputs: the model's, then the state outputs (stateInputs). */
  outputs: ValueInfo[];
  /** Pairs of state input and output names, in the same order (empty without stateInputs). */
  states: Array<{ input: string; output: string; dims: OnnxDim[] }>;
}

/** The checked options with their defaults. */
export function checkOnnxOptions(options: OnnxExportOptions | undefined, context: string): Required<OnnxExportOptions> {
  const opts = optionsOrEmpty(options, context);
  checkKnownKeys(opts, ['stateInputs', 'opset'], context);
  return {
    stateInputs: opts.stateInputs === undefined ? false : checkBoolean(opts.stateInputs, 'stateInputs'),
    opset: opts.opset === undefined ? OPSET_RANGE.default : checkInteger(opts.opset, 'opset', { min: OPSET_RANGE.min, max: OPSET_RANGE.max }),
  };
}

/** Builds the ONNX model of `description`; returns its bytes and signature. Nothing is written. */
export function buildOnnxModel(description: ModelDescription, options: Required<OnnxExportOptions>): { bytes: Uint8Array; signature: OnnxSignature } {
  const graph = new GraphBuilder(options.opset);
  const ctx: EmitContext = { graph, stateInputs: options.stateInputs, states: [] };
  const values = new Map<string, GraphValue>();
  const inputs: ValueInfo[] = description.inputs.map((input) => {
    const consumers = description.nodes.filter((n) => n.inbound.some((t) => t.id === input.id));
    const ids = consumers.length > 0 && consumers.every((n) => readsTokenIds(n.layer));
    // Several inputs may have different numbers of steps: each gets its own dynamic time axis.
    const time = description.inputs.length > 1 ? `time_${input.name}` : 'time';
    const dims: OnnxDim[] = ['batch', ...input.shape.map((d, i) => (i === 0 && input.shape.length >= (ids ? 1 : 2) ? time : d))];
    const info: ValueInfo = { name: input.name, dtype: ids ? 'int64' : 'float32', dims };
    graph.addInput(info);
    values.set(input.id, { name: input.name, dims });
    return info;
  });
  for (const node of description.nodes) {
    const read = node.inbound.map((t) => {
      const value = values.get(t.id);
      if (!value) throw new RnnError('ARGUMENT', `Expected tensor '${t.id}' to be made before layer '${node.layer.name}' reads it`);
      return value;
    });
    const made = emitNode(ctx, node, read);
    const list = Array.isArray(made) ? made : [made];
    if (list.length !== node.outbound.length) {
      throw new RnnError('ARGUMENT', `Expected ${node.outbound.length} outputs from layer '${node.layer.name}' (${node.layer.className}) in the ONNX export but its emitter made ${list.length}`);
    }
    node.outbound.forEach((t, k) => values.set(t.id, list[k]));
  }
  const outputs: ValueInfo[] = description.outputs.map((output) => {
    const value = values.get(output.id)!;
    const info: ValueInfo = { name: output.name, dtype: 'float32', dims: value.dims };
    graph.addOutput(value.name, info);
    return info;
  });
  const stateValue = (name: string, dims: OnnxDim[]): ValueInfo => ({ name, dtype: 'float32', dims });
  for (const state of ctx.states) graph.addOutput(state.source, stateValue(state.output, state.dims));
  const docString = `Exported by rnnkit ${packageVersion()} from model '${description.name}'. Masks: each sample's window `
    + '(first to last unmasked step) is computed in the graph; recurrent operators read it as sequence_lens.';
  return {
    bytes: graph.encode(description.name, packageVersion(), docString),
    signature: {
      inputs: [...inputs, ...ctx.states.map((s) => stateValue(s.input, s.dims))],
      outputs: [...outputs, ...ctx.states.map((s) => stateValue(s.output, s.dims))],
      states: ctx.states.map(({ input, output, dims }) => ({ input, output, dims })),
    },
  };
}
