// Optimizer utilities over named parameter sets held as Float32Arrays (updated in place).

export type ParamSet = Map<string, Float32Array> | Record<string, Float32Array>;

function entries(set: ParamSet): [string, Float32Array][] {
  return set instanceof Map ? [...set.entries()] : Object.entries(set);
}

function lookup(set: ParamSet, name: string): Float32Array | undefined {
  return set instanceof Map ? set.get(name) : set[name];
}

/** The L2 norm of all gradients together (accumulated in float64). */
export function globalNorm(grads: ParamSet): number {
  let sum = 0;
  for (const [, g] of entries(grads)) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return Math.sqrt(sum);
}

/**
 * Scales all gradients in place so their global norm is at most maxNorm. Returns the norm before
 * clipping and the factor applied; a non-finite norm leaves the gradients untouched (scale 1) so
 * the caller can skip the step.
 */
export function clipGradNorm(grads: ParamSet, maxNorm: number): { norm: number; scale: number } {
  const norm = globalNorm(grads);
  if (!Number.isFinite(norm) || norm <= maxNorm) return { norm, scale: 1 };
  const scale = maxNorm / norm;
  for (const [, g] of entries(grads)) for (let i = 0; i < g.length; i++) g[i] *= scale;
  return { norm, scale };
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay: p -= lr * weightDecay * p, apart from the adaptive step. */
  weightDecay?: number;
}

export interface AdamWState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/** AdamW (Loshchilov & Hutter) with bias correction, as torch.optim.AdamW computes it. */
export class AdamW {
  private t = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  readonly options: Required<AdamWOptions>;

  constructor(private readonly params: ParamSet, options: AdamWOptions) {
    this.options = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...options };
    for (const [name, p] of entries(params)) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update of every parameter; every parameter needs a gradient of its size. */
  step(grads: ParamSet, lr = this.options.lr): void {
    const { beta1, beta2, eps, weightDecay } = this.options;
    const missing = entries(this.params).filter(([name]) => !lookup(grads, name)).map(([name]) => name);
    if (missing.length > 0) throw new Error(`AdamW: no gradient for ${missing.join(', ')}`);
    this.t += 1;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (const [name, p] of entries(this.params)) {
      const g = lookup(grads, name)!;
      if (g.length !== p.length) throw new Error(`AdamW: gradient for ${name} has ${g.length} values, parameter ${p.length}`);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      for (let i = 0; i < p.length; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        const decayed = p[i] * (1 - lr * weightDecay);
        p[i] = decayed - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    }
  }

  /** Moments and step count, for checkpoints. */
  state(): AdamWState {
    return { step: this.t, m: Object.fromEntries(this.m), v: Object.fromEntries(this.v) };
  }

  load(state: AdamWState): void {
    for (const [name, p] of entries(this.params)) {
      const m = state.m[name];
      const v = state.v[name];
      if (!m || !v || m.length !== p.length || v.length !== p.length) throw new Error(`AdamW: state has no moments of the right size for ${name}`);
      this.m.get(name)!.set(m);
      this.v.get(name)!.set(v);
    }
    this.t = state.step;
  }
}
