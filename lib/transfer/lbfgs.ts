/**
 * L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., algorithms 7.4 and 7.5) for the linear probe: a smooth
 * convex objective (the head's loss on cached features plus a weight decay) whose value and gradient come from the
 * native network. The solver only does vector bookkeeping on the head's few thousand parameters, so it lives in
 * TypeScript; every loss and gradient evaluation is one native call over the whole feature matrix.
 *
 * Line search: backtracking from the full quasi-Newton step with the Armijo condition
 *   f(w + a d) <= f(w) + c1 a g.d
 * and a curvature pair (s, y) is kept only when s.y > 0, so the inverse-Hessian estimate stays positive definite.
 */

/** Value and gradient of the objective at `w` (the gradient has w's length). */
export type Objective = (w: Float64Array) => Promise<{ value: number; gradient: Float64Array }>;

export interface LbfgsOptions {
  /** Upper bound on iterations. Default 500. */
  maxIterations?: number;
  /** Stop when max |gradient| <= gradientTolerance * max(1, |f|). Default 1e-4. */
  gradientTolerance?: number;
  /** Stop when the relative decrease of f over one iteration is below this. Default 1e-8. */
  valueTolerance?: number;
  /** Curvature pairs kept. Default 10. */
  memory?: number;
}

export interface LbfgsResult {
  w: Float64Array;
  value: number;
  gradientMax: number;
  iterations: number;
  evaluations: number;
  /** Why the solver stopped. */
  reason: 'gradient' | 'value' | 'iterations' | 'line search';
}

const ARMIJO_C1 = 1e-4;
const BACKTRACK = 0.5;
const MAX_BACKTRACKS = 30;

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** d = -H g by the two-loop recursion over the stored pairs (newest last). */
function searchDirection(g: Float64Array, pairs: Array<{ s: Float64Array; y: Float64Array; rho: number }>): Float64Array {
  const q = Float64Array.from(g);
  const alphas = new Float64Array(pairs.length);
  for (let k = pairs.length - 1; k >= 0; k--) {
    const { s, y, rho } = pairs[k];
    alphas[k] = rho * dot(s, q);
    for (let i = 0; i < q.length; i++) q[i] -= alphas[k] * y[i];
  }
  // H0 = (s.y / y.y) I from the newest pair: scales the first trial step to the objective's curvature.
  if (pairs.length > 0) {
    const { s, y } = pairs[pairs.length - 1];
    const gamma = dot(s, y) / dot(y, y);
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
  }
  for (let k = 0; k < pairs.length; k++) {
    const { s, y, rho } = pairs[k];
    const beta = rho * dot(y, q);
    for (let i = 0; i < q.length; i++) q[i] += s[i] * (alphas[k] - beta);
  }
  for (let i = 0; i < q.length; i++) q[i] = -q[i];
  return q;
}

/** Minimises `objective` from `start`. */
export async function minimize(objective: Objective, start: Float64Array, options: LbfgsOptions = {}): Promise<LbfgsResult> {
  const maxIterations = options.maxIterations ?? 500;
  const gradientTolerance = options.gradientTolerance ?? 1e-4;
  const valueTolerance = options.valueTolerance ?? 1e-8;
  const memory = options.memory ?? 10;
  let w: Float64Array = Float64Array.from(start);
  let { value, gradient } = await objective(w);
  let evaluations = 1;
  const pairs: Array<{ s: Float64Array; y: Float64Array; rho: number }> = [];
  const done = (iterations: number, reason: LbfgsResult['reason']): LbfgsResult => ({ w, value, gradientMax: maxAbs(gradient), iterations, evaluations, reason });

  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (maxAbs(gradient) <= gradientTolerance * Math.max(1, Math.abs(value))) return done(iteration, 'gradient');
    let direction = searchDirection(gradient, pairs);
    let slope = dot(gradient, direction);
    if (!(slope < 0)) {
      // Not a descent direction (rounding in a float32 objective): restart from steepest descent.
      pairs.length = 0;
      direction = gradient.map((g) => -g);
      slope = dot(gradient, direction);
    }
    // The first step has no curvature estimate yet: move at most 1 in the largest coordinate.
    let step = pairs.length === 0 ? Math.min(1, 1 / maxAbs(direction)) : 1;
    let accepted: { w: Float64Array; value: number; gradient: Float64Array } | undefined;
    for (let k = 0; k < MAX_BACKTRACKS; k++) {
      const trial = w.map((v, i) => v + step * direction[i]);
      const result = await objective(trial);
      evaluations++;
      if (Number.isFinite(result.value) && result.value <= value + ARMIJO_C1 * step * slope) {
        accepted = { w: trial, ...result };
        break;
      }
      step *= BACKTRACK;
    }
    if (!accepted) return done(iteration, 'line search');
    const s = accepted.w.map((v, i) => v - w[i]);
    const y = accepted.gradient.map((g, i) => g - gradient[i]);
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      pairs.push({ s, y, rho: 1 / sy });
      if (pairs.length > memory) pairs.shift();
    }
    const decrease = value - accepted.value;
    w = accepted.w;
    value = accepted.value;
    gradient = accepted.gradient;
    if (decrease <= valueTolerance * Math.max(1, Math.abs(value))) return done(iteration + 1, 'value');
  }
  return done(maxIterations, 'iterations');
}
