/**
 * tfjs IOHandlers over a directory holding model.json + weights.bin, as tfjs-node's file:// handler reads and
 * writes it (the pure-JS @tensorflow/tfjs has no file:// handler).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

/** Loads the two files of `directory` (tf.loadLayersModel(readFromDirectory(dir))). */
export function readFromDirectory(directory: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(join(directory, 'model.json'), 'utf8'));
      const bytes = readFileSync(join(directory, 'weights.bin'));
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((group: { weights: tf.io.WeightsManifestEntry[] }) => group.weights),
        weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
      };
    },
  };
}

/** Writes model.json + weights.bin into `directory` (model.save(writeToDirectory(dir))). */
export function writeToDirectory(directory: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      mkdirSync(directory, { recursive: true });
      const manifest = [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs }];
      writeFileSync(join(directory, 'model.json'), JSON.stringify({
        modelTopology: artifacts.modelTopology, format: artifacts.format, generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy, weightsManifest: manifest,
      }));
      writeFileSync(join(directory, 'weights.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  };
}
