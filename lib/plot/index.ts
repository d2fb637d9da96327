/**
 * Charts as SVG files, drawn by vega and vega-lite (optional peer dependencies: `npm install vega@6 vega-lite@6`).
 * `rk.callbacks.plot('curves.svg')` draws a fit's learning curves; these functions draw any Vega-Lite spec.
 * @module
 */
export { renderSvg, writeSvg } from './vega';
export { learningCurvesSpec } from './learning_curves';
export type { LearningCurvesOptions } from './learning_curves';
