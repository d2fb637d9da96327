/**
 * The printed layer table of model.summary(), Keras style: for a chain the layers with their output shapes and
 * parameter counts; for a graph also its inputs and, per node, the tensors it reads ("Connected to").
 */
import type { GraphNode } from './symbolic';
import type { Topology } from './topology';

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

function shapeCell(shape: readonly number[]): string {
  return `[null, ${shape.map((d) => (d === -1 ? 'null' : String(d))).join(', ')}]`;
}


interface Row {
  name: string;
  shape: string;
  params: number;
  connected?: string;
}

/** `chain`: a sequential model's table (no input rows, no connections). */
export function printGraphSummary(modelName: string, topology: Topology, chain: boolean, printFn: (line: string) => void): void {
  const counted = new Set<unknown>();
  const rows: Row[] = [];
  if (!chain) {
    for (const t of topology.inputs) rows.push({ name: `${t.name} (InputLayer)`, shape: shapeCell(t.sampleShape), params: 0, connected: '' });
  }
  const firstParams = (node: GraphNode) => {
    if (counted.has(node.layer)) return 0;
    counted.add(node.layer);
    return node.layer.countParams(topology.firstUse.get(node.layer)!.inputs[0].sampleShape);
  };
  for (const node of topology.nodes) {
    rows.push({
      name: `${node.layer.name} (${node.layer.className})`,
      shape: node.outputs.map((t) => shapeCell(t.sampleShape)).join(' '),
      params: firstParams(node),
      connected: chain ? undefined : node.inputs.map((t) => t.name).join(', '),
    });
  }
  const widths = [
    Math.max(28, ...rows.map((r) => r.name.length + 2)),
    Math.max(20, ...rows.map((r) => r.shape.length + 2)),
    12,
  ];
  const line = '_'.repeat(widths[0] + widths[1] + widths[2] + (chain ? 0 : 20));
  const connected = (text: string | undefined) => text ?? '';
  printFn(`Model: "${modelName}"`);
  printFn(line);
  printFn(pad('Layer (type)', widths[0]) + pad('Output shape', widths[1]) + (chain ? 'Param #' : pad('Param #', widths[2]) + 'Connected to'));
  printFn('='.repeat(line.length));
  rows.forEach((r, i) => {
    const params = r.params.toLocaleString('en-US');
    printFn(pad(r.name, widths[0]) + pad(r.shape, widths[1]) + (chain ? params : pad(params, widths[2]) + connected(r.connected)));
    printFn(i === rows.length - 1 ? '='.repeat(line.length) : line);
  });
  const total = rows.reduce((s, r) => s + r.params, 0);
  const trainable = topology.layers.reduce((s, l) => s + (l.trainable ? l.countParams(topology.firstUse.get(l)!.inputs[0].sampleShape) : 0), 0);
  printFn(`Total params: ${total.toLocaleString('en-US')}`);
  printFn(`Trainable params: ${trainable.toLocaleString('en-US')}`);
  printFn(`Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`);
  printFn(line);
}
