/**
 * Builds one ONNX graph (nodes, initializers, inputs, outputs) and encodes it as a ModelProto with `onnx-proto`: the
 * protobufjs module generated from ONNX's published onnx.proto3, so the bytes come from protobufjs's encoder, not
 * from code of ours (onnx_proto.ts loads it). Tensors are batch-major here: a dimension written as a string is symbolic (dynamic), e.g.
 * ['batch', 'time', 8].
 */
import type { onnx } from 'onnx-proto';
import { RnnError } from '../../errors';
import { onnxProto } from './onnx_proto';

/** Element types the exporter writes. */
export type OnnxDtype = 'float32' | 'int64' | 'int32';
/** A dimension: a size, or the name of a dynamic axis. */
export type OnnxDim = number | string;
/** Attribute values: numbers are ints unless listed in `floats`, strings, and lists of either. */
export type AttributeValue = number | string | number[] | string[];

/** TensorProto.DataType values (onnx.proto): FLOAT 1, INT32 6, INT64 7. */
const ELEMENT_TYPES: Record<OnnxDtype, number> = { float32: 1, int64: 7, int32: 6 };
/** AttributeProto.AttributeType values (onnx.proto). */
const ATTRIBUTE_TYPES = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** The ONNX IR version that goes with an opset of the default domain (onnx/helper.py's VERSION_TABLE). */
const IR_VERSION_OF_OPSET: Record<number, number> = { 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };
/** Opsets the exporter writes: 14 (the recurrent operators' latest revision, with `layout`) to 21. */
export const OPSET_RANGE = { min: 14, max: 21, default: 17 } as const;

/** A graph input or output: name, element type and batch-major dims. */
export interface ValueInfo {
  name: string;
  dtype: OnnxDtype;
  dims: OnnxDim[];
}

/** Accumulates an ONNX graph; names are made unique with a counter per prefix. */
export class GraphBuilder {
  readonly opset: number;
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();

  constructor(opset: number) {
    this.opset = opset;
  }

  /** A name not used yet in the graph, derived from `prefix`. */
  uniqueName(prefix: string): string {
    let name = prefix;
    for (let i = 1; this.used.has(name); i++) name = `${prefix}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Declares a graph input with exactly `info.name` (a clash is an ARGUMENT error: names are the serving API). */
  addInput(info: ValueInfo): string {
    this.claim(info.name);
    this.inputs.push(info);
    return info.name;
  }

  /** Declares a graph output: an Identity from `source` to the exact name `info.name`. */
  addOutput(source: string, info: ValueInfo): void {
    this.claim(info.name);
    this.nodes.push({ opType: 'Identity', input: [source], output: [info.name], name: info.name });
    this.outputs.push(info);
  }

  /** A constant tensor; returns its name. */
  constant(prefix: string, dtype: OnnxDtype, dims: number[], values: ArrayLike<number>): string {
    const name = this.uniqueName(prefix);
    const tensor: onnx.ITensorProto = { name, dims, dataType: ELEMENT_TYPES[dtype] };
    if (dtype === 'float32') tensor.floatData = Array.from(values);
    else if (dtype === 'int32') tensor.int32Data = Array.from(values);
    else tensor.int64Data = Array.from(values);
    this.initializers.push(tensor);
    return name;
  }

  /**
   * Adds a node and returns its output names (`outputs` gives how many, or their prefixes; '' asks for an optional
   * output that is not wanted). `floats` lists the attributes whose numbers are floats.
   */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputs: number | string[] = 1,
    floats: string[] = []): string[] {
    const prefixes = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => `${opType.toLowerCase()}${outputs > 1 ? `_out${i}` : ''}`) : outputs;
    const names = prefixes.map((p) => (p === '' ? '' : this.uniqueName(p)));
    const attribute = Object.entries(attributes).map(([name, value]) => toAttribute(name, value, floats.includes(name)));
    this.nodes.push({ opType, input: inputs, output: names, name: this.uniqueName(`${opType}_node`), attribute });
    return names;
  }

  /** One-output shorthand of {@link node}. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, floats: string[] = []): string {
    return this.node(opType, inputs, attributes, 1, floats)[0];
  }

  /** A Reduce* over `axes`; the axes are an attribute before opset 18 and an input from it. */
  reduce(opType: 'ReduceMax' | 'ReduceMin', input: string, axes: number[], keepdims: boolean): string {
    const keep = keepdims ? 1 : 0;
    if (this.opset >= 18) return this.op(opType, [input, this.constant('axes', 'int64', [axes.length], axes)], { keepdims: keep });
    return this.op(opType, [input], { axes, keepdims: keep });
  }

  /** The ModelProto bytes. */
  encode(graphName: string, producerVersion: string, docString: string): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: IR_VERSION_OF_OPSET[this.opset],
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: 'rnnkit',
      producerVersion,
      docString,
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    };
    const proto = onnxProto();
    return proto.ModelProto.encode(proto.ModelProto.create(model)).finish();
  }

  private claim(name: string): void {
    if (this.used.has(name)) throw new RnnError('ARGUMENT', `Expected unique ONNX tensor names but '${name}' is used twice`);
    this.used.add(name);
  }
}

function valueInfo(info: ValueInfo): onnx.IValueInfoProto {
  return {
    name: info.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[info.dtype],
        shape: { dim: info.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function toAttribute(name: string, value: AttributeValue, isFloat: boolean): onnx.IAttributeProto {
  const types = ATTRIBUTE_TYPES;
  if (typeof value === 'string') return { name, type: types.STRING, s: Buffer.from(value, 'utf8') };
  if (typeof value === 'number') return isFloat ? { name, type: types.FLOAT, f: value } : { name, type: types.INT, i: value };
  if (value.length > 0 && typeof value[0] === 'string') {
    return { name, type: types.STRINGS, strings: (value as string[]).map((s) => Buffer.from(s, 'utf8')) };
  }
  return isFloat ? { name, type: types.FLOATS, floats: value as number[] } : { name, type: types.INTS, ints: value as number[] };
}
