/** The printed layer table of model.summary(), Keras style. */
import type { Layer } from '../layers/layer';

interface SummaryModel {
  readonly name: string;
  readonly layers: readonly Layer[];
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

export function printSummary(model: SummaryModel, shapes: readonly (readonly number[])[], printFn: (line: string) => void): void {
  const rows = model.layers.map((layer, i) => {
    const params = layer.countParams(shapes[i]);
    return {
      name: `${layer.name} (${layer.className})`,
      shape: `[null, ${shapes[i + 1].join(', ')}]`,
      params,
      trainable: layer.trainable,
    };
  });
  const widths = [
    Math.max(28, ...rows.map((r) => r.name.length + 2)),
    Math.max(20, ...rows.map((r) => r.shape.length + 2)),
    12,
  ];
  const line = '_'.repeat(widths[0] + widths[1] + widths[2]);
  printFn(`Model: "${model.name}"`);
  printFn(line);
  printFn(pad('Layer (type)', widths[0]) + pad('Output shape', widths[1]) + 'Param #');
  printFn('='.repeat(line.length));
  rows.forEach((r, i) => {
    printFn(pad(r.name, widths[0]) + pad(r.shape, widths[1]) + r.params.toLocaleString('en-US'));
    printFn(i === rows.length - 1 ? '='.repeat(line.length) : line);
  });
  const total = rows.reduce((s, r) => s + r.params, 0);
  const trainable = rows.reduce((s, r) => s + (r.trainable ? r.params : 0), 0);
  printFn(`Total params: ${total.toLocaleString('en-US')}`);
  printFn(`Trainable params: ${trainable.toLocaleString('en-US')}`);
  printFn(`Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`);
  printFn(line);
}
