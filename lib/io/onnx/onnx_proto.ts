/**
 * Loads `onnx-proto` (the protobufjs module generated from ONNX's onnx.proto3) on first use. It is an optional peer
 * dependency, as vega is for the charts: its protobufjs 6 runtime installs at about 22 MB, ten times rnnkit, for a
 * feature most users never call, so `require('rnnkit')` never loads it and only an export asks for it.
 */
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { RnnError } from '../../errors';

/** The peer version the exporter is written for (package.json peerDependencies). */
export const ONNX_PROTO_INSTALL_COMMAND = 'npm install onnx-proto@8';

let loaded: typeof OnnxNamespace | undefined;

/** The `onnx` namespace of onnx-proto; a DEPENDENCY error that says how to install it when it is missing. */
export function onnxProto(): typeof OnnxNamespace {
  if (loaded) return loaded;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = (require('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
    return loaded;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes("'onnx-proto'")) {
      throw new RnnError('DEPENDENCY', `The ONNX export needs the optional package onnx-proto, which is not installed: run \`${ONNX_PROTO_INSTALL_COMMAND}\` in your project`);
    }
    throw new RnnError('DEPENDENCY', `The ONNX export could not load 'onnx-proto': ${e?.message ?? String(error)}`);
  }
}
