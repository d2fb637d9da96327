/**
 * Option values between rnnkit and the Keras-style JSON of tfjs: activation names ('hardSigmoid' <->
 * 'hard_sigmoid'), initializers and regularizers (`{ class_name, config }` objects). Values rnnkit cannot represent
 * are FORMAT errors naming them.
 */
import { RnnError } from '../errors';
import { checkInitializer, InitializerName, InitializerSpec } from '../initializers';
import { ACTIVATIONS } from '../layers/layer';
import { describeValue, isPlainObject } from '../validate';

/** 'returnSequences' -> 'return_sequences'. */
export function toSnakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** 'return_sequences' -> 'returnSequences' (camelCase input is returned unchanged). */
export function toCamelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function fail(file: string, what: string, where: string, value: unknown): never {
  throw new RnnError('FORMAT', `${file}: expected ${what} for ${where} but received ${describeValue(value)}`);
}

export function fromTfjsActivation(value: unknown, where: string, file: string): string {
  const name = typeof value === 'string' ? toCamelCase(value) : undefined;
  if (name === undefined || !(ACTIVATIONS as readonly string[]).includes(name)) {
    fail(file, `an activation rnnkit has (${ACTIVATIONS.map(toSnakeCase).join(', ')})`, where, value);
  }
  return name;
}

/** tfjs class names of rnnkit's parameterless and parameterised initializers, and the parameters each one keeps. */
const INITIALIZER_CLASSES: Record<InitializerName, [className: string, params: string[]]> = {
  zeros: ['Zeros', []], ones: ['Ones', []], constant: ['Constant', ['value']],
  glorotUniform: ['GlorotUniform', ['seed']], glorotNormal: ['GlorotNormal', ['seed']],
  heUniform: ['HeUniform', ['seed']], heNormal: ['HeNormal', ['seed']],
  lecunUniform: ['LeCunUniform', ['seed']], lecunNormal: ['LeCunNormal', ['seed']],
  orthogonal: ['Orthogonal', ['gain', 'seed']], identity: ['Identity', ['gain']],
  randomUniform: ['RandomUniform', ['minval', 'maxval', 'seed']], randomNormal: ['RandomNormal', ['mean', 'stddev', 'seed']],
  truncatedNormal: ['TruncatedNormal', ['mean', 'stddev', 'seed']],
};

/** The tfjs form of an rnnkit initializer; the seed is null because rnnkit seeds with rk.setSeed instead. */
export function tfjsInitializer(spec: InitializerSpec): Record<string, unknown> {
  const resolved = checkInitializer(spec, 'initializer') as unknown as Record<string, unknown>;
  const [className, params] = INITIALIZER_CLASSES[resolved.name as InitializerName];
  const config: Record<string, unknown> = {};
  for (const param of params) config[param] = param === 'seed' ? null : resolved[param];
  return { class_name: className, config };
}

/** Keras VarianceScaling (scale, mode, distribution) settings that equal one of rnnkit's named initializers. */
const VARIANCE_SCALING: Array<[scale: number, mode: string, uniform: boolean, name: InitializerName]> = [
  [1, 'fanAvg', true, 'glorotUniform'], [1, 'fanAvg', false, 'glorotNormal'],
  [2, 'fanIn', true, 'heUniform'], [2, 'fanIn', false, 'heNormal'],
  [1, 'fanIn', true, 'lecunUniform'], [1, 'fanIn', false, 'lecunNormal'],
];

/**
 * The rnnkit initializer of a tfjs `{ class_name, config }` (or a name string). VarianceScaling maps to the named
 * initializer with the same scale, mode and distribution family (tfjs' 'normal' is a truncated normal, like
 * rnnkit's); seeds are dropped, as rnnkit seeds initializers with rk.setSeed.
 */
export function fromTfjsInitializer(value: unknown, where: string, file: string): InitializerSpec {
  if (typeof value === 'string') return checkedInitializer(toCamelCase(value), where, file, value);
  if (!isPlainObject(value) || typeof value.class_name !== 'string' || !(value.config === undefined || isPlainObject(value.config))) {
    fail(file, 'an initializer { class_name, config }', where, value);
  }
  const config = (value.config ?? {}) as Record<string, unknown>;
  const className = value.class_name.toLowerCase();
  if (className === 'variancescaling') return fromVarianceScaling(config, where, file);
  const entry = Object.entries(INITIALIZER_CLASSES).find(([, [tfjsName]]) => tfjsName.toLowerCase() === className);
  if (!entry) fail(file, `an initializer rnnkit has (${Object.values(INITIALIZER_CLASSES).map(([n]) => n).join(', ')}, VarianceScaling)`, where, value.class_name);
  const [name, [, params]] = entry;
  const spec: Record<string, unknown> = { name };
  for (const [key, parameter] of Object.entries(config)) {
    if (!params.includes(key)) fail(file, `only ${params.length ? params.join(', ') : 'no parameters'}`, `${where}.config.${key}`, parameter);
    if (key === 'seed') {
      if (parameter !== null && typeof parameter !== 'number') fail(file, 'a number or null', `${where}.config.seed`, parameter);
    } else if (parameter !== null && parameter !== undefined) {
      spec[key] = parameter;
    }
  }
  return checkedInitializer(spec as unknown as InitializerSpec, where, file, value);
}

function fromVarianceScaling(config: Record<string, unknown>, where: string, file: string): InitializerSpec {
  for (const key of Object.keys(config)) {
    if (!['scale', 'mode', 'distribution', 'seed'].includes(key)) fail(file, 'only scale, mode, distribution and seed', `${where}.config.${key}`, config[key]);
  }
  const mode = typeof config.mode === 'string' ? toCamelCase(config.mode) : config.mode;
  const distribution = typeof config.distribution === 'string' ? toCamelCase(config.distribution) : config.distribution;
  const uniform = distribution === 'uniform';
  const normal = distribution === 'normal' || distribution === 'truncatedNormal';
  const match = VARIANCE_SCALING.find(([scale, m, u]) => scale === config.scale && m === mode && (u ? uniform : normal));
  if (!match) {
    fail(file, 'a VarianceScaling that is Glorot, He or LeCun (scale 1 fan_avg, 2 fan_in or 1 fan_in)', where,
      `scale ${describeValue(config.scale)}, mode ${describeValue(config.mode)}, distribution ${describeValue(config.distribution)}`);
  }
  return match[3];
}

/**
 * The spec validated and in its shortest form: parameters at their defaults are dropped, and a spec left with no
 * parameters becomes its name, so a config written by rnnkit reads back equal to the original.
 */
function checkedInitializer(spec: unknown, where: string, file: string, original: unknown): InitializerSpec {
  try {
    checkInitializer(spec, where);
  } catch {
    fail(file, 'an initializer rnnkit has', where, original);
  }
  if (typeof spec === 'string') return spec as InitializerSpec;
  const { name, ...params } = spec as { name: InitializerName } & Record<string, unknown>;
  const defaults = checkInitializer(name, where) as unknown as Record<string, unknown>;
  const kept = Object.entries(params).filter(([key, value]) => value !== defaults[key]);
  return kept.length === 0 ? name : ({ name, ...Object.fromEntries(kept) } as InitializerSpec);
}

/** The tfjs form of an rnnkit regularizer ({ l1, l2 } or undefined). */
export function tfjsRegularizer(value: unknown): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  const { l1, l2 } = value as { l1?: number; l2?: number };
  return { class_name: 'L1L2', config: { l1: l1 ?? 0, l2: l2 ?? 0 } };
}

/** `{ l1, l2 }` from tfjs L1L2 / Keras L1 or L2, or undefined for null. */
export function fromTfjsRegularizer(value: unknown, where: string, file: string): { l1: number; l2: number } | undefined {
  if (value === null || value === undefined) return undefined;
  if (!isPlainObject(value) || typeof value.class_name !== 'string' || !isPlainObject(value.config)) {
    fail(file, 'a regularizer { class_name, config } or null', where, value);
  }
  const allowed: Record<string, string[]> = { L1L2: ['l1', 'l2'], L1: ['l1'], L2: ['l2'] };
  const keys = Object.prototype.hasOwnProperty.call(allowed, value.class_name) ? allowed[value.class_name] : undefined;
  if (!keys) fail(file, 'an L1L2, L1 or L2 regularizer', where, value.class_name);
  const result = { l1: 0, l2: 0 };
  for (const [key, amount] of Object.entries(value.config)) {
    if (!keys.includes(key)) fail(file, `only ${keys.join(', ')}`, `${where}.config.${key}`, amount);
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) fail(file, 'a finite number >= 0', `${where}.config.${key}`, amount);
    result[key as 'l1' | 'l2'] = amount;
  }
  return result;
}
