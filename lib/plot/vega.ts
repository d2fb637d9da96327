/**
 * Renders Vega-Lite chart specs to SVG with vega and vega-lite, optional peer dependencies loaded on first use, so
 * `require('rnnkit')` never loads them and a user who draws no chart never installs them. Both are ES modules; the
 * package is CommonJS, so they come in through a real dynamic `import()` that TypeScript does not rewrite to require.
 */
import { promises as fs } from 'fs';
import { RnnError } from '../errors';
import { describeValue, isPlainObject } from '../validate';

/** The two functions of vega-lite and vega this module uses. */
interface VegaModules {
  compileVegaLite(spec: object): { spec: object };
  renderToSvg(vegaSpec: object): Promise<string>;
}

interface VegaView {
  toSVG(): Promise<string>;
  finalize(): void;
}

/** The peer versions the charts are written for (package.json peerDependencies). */
export const VEGA_INSTALL_COMMAND = 'npm install vega@6 vega-lite@6';

// `import()` inside a Function body survives TypeScript's CommonJS output; Node resolves it from this file's folder.
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

let loading: Promise<VegaModules> | undefined;

function isMissingPackage(error: unknown, name: string): boolean {
  const e = error as NodeJS.ErrnoException;
  return (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && String(e.message).includes(`'${name}'`);
}

async function importPeer(name: string): Promise<Record<string, unknown>> {
  try {
    return (await importModule(name)) as Record<string, unknown>;
  } catch (error) {
    if (isMissingPackage(error, name)) {
      throw new RnnError('DEPENDENCY', `Charts need the optional packages vega and vega-lite, and '${name}' is not ` +
        `installed: run \`${VEGA_INSTALL_COMMAND}\` in your project`);
    }
    throw new RnnError('DEPENDENCY', `Charts could not load '${name}': ${(error as Error).message}`);
  }
}

async function loadModules(): Promise<VegaModules> {
  // One after the other: with both missing, the error names vega every time (Promise.all named whichever failed first).
  const vega = await importPeer('vega');
  const vegaLite = await importPeer('vega-lite');
  const View = vega.View as new (runtime: unknown, options: { renderer: string }) => VegaView;
  const parse = vega.parse as (spec: object) => unknown;
  const compile = vegaLite.compile as (spec: object) => { spec: object };
  return {
    compileVegaLite: compile,
    async renderToSvg(vegaSpec) {
      // renderer 'none': no canvas and no DOM; toSVG builds the markup from the scenegraph.
      const view = new View(parse(vegaSpec), { renderer: 'none' });
      try {
        return await view.toSVG();
      } finally {
        view.finalize();
      }
    },
  };
}

/**
 * Loads vega and vega-lite once. A missing package is a `DEPENDENCY` {@link RnnError} that names the install command.
 * A failed load is not cached, so installing and retrying works. Callers that render late (the plot callback, after
 * fit) call this first to fail before the work instead of after it. @internal
 */
export function vegaModules(): Promise<VegaModules> {
  if (loading === undefined) {
    loading = loadModules().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
  }
  return loading;
}

/**
 * Renders a Vega-Lite spec (an object, as on https://vega.github.io/vega-lite/) to an SVG document. Needs the optional
 * packages vega and vega-lite (`npm install vega@6 vega-lite@6`); without them it rejects with a `DEPENDENCY` error.
 */
export async function renderSvg(spec: object): Promise<string> {
  if (!isPlainObject(spec)) throw new RnnError('ARGUMENT', `Expected a Vega-Lite spec object for spec but received ${describeValue(spec)}`);
  const modules = await vegaModules();
  let vegaSpec: object;
  try {
    vegaSpec = modules.compileVegaLite(spec).spec;
  } catch (error) {
    throw new RnnError('ARGUMENT', `Expected a valid Vega-Lite spec but vega-lite refused it: ${(error as Error).message}`);
  }
  return modules.renderToSvg(vegaSpec);
}

/** Renders a Vega-Lite spec with {@link renderSvg} and writes the SVG to `path` (an `IO` error if that fails). */
export async function writeSvg(spec: object, path: string): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new RnnError('ARGUMENT', `Expected a non-empty file path for path but received ${describeValue(path)}`);
  }
  const svg = await renderSvg(spec);
  try {
    await fs.writeFile(path, svg);
  } catch (error) {
    throw new RnnError('IO', `Cannot write the chart to ${path}: ${(error as Error).message}`);
  }
}
