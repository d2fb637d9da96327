/** What rk.fineTune did and why: the recipe it ran, every candidate's cross-validation scores, and the cost. */
import type { ProbeResult } from './probe';
import { FineTuneRecipe, RECIPE_LABELS } from './recipes';
import { CandidateScore, mean, spread } from './select';

/** What rk.fineTune cost, in training passes and in time. */
export interface FineTuneCost {
  /** Training sample passes (epochs x rows) of everything fineTune ran, the choice included. */
  samplePasses: number;
  /** Sample passes of one plain fit: the epoch budget over all training samples. */
  plainFitPasses: number;
  /** samplePasses / plainFitPasses. */
  ratio: number;
  /** Wall time of the whole call, seconds. */
  seconds: number;
}

/** What rk.fineTune did and why; `toString()` prints it as a table. */
export class FineTuneReport {
  /** @internal */
  constructor(
    /** The recipe that trained the returned model ('stages' for an explicit schedule). */
    readonly strategy: FineTuneRecipe | 'stages',
    /** How it was chosen: 'given' (strategy or stages passed in) or 'cross-validation'. */
    readonly chosenBy: 'given' | 'cross-validation',
    /** Every candidate's cross-validation scores (empty unless chosen by cross-validation). */
    readonly candidates: CandidateScore[],
    /** Folds of the cross-validation (0 when none ran). */
    readonly folds: number,
    /** The probe's result when the recipe includes it (probe, lpft). */
    readonly probe: ProbeResult | undefined,
    /** What it cost. */
    readonly cost: FineTuneCost,
  ) {}

  /** A table of the candidates and the choice. */
  toString(): string {
    const lines: string[] = [];
    const label = this.strategy === 'stages' ? 'the given stages' : `'${this.strategy}': ${RECIPE_LABELS[this.strategy]}`;
    lines.push(`fineTune ran ${label} (${this.chosenBy === 'given' ? 'as asked' : `chosen by ${this.folds}-fold cross-validation`})`);
    if (this.candidates.length > 0) {
      const incumbent = this.candidates.find((c) => !c.skipped)?.recipe;
      const rows = this.candidates.map((c) => {
        if (c.skipped) return [c.recipe, 'skipped', '', '', '', c.skipped];
        const accuracy = c.accuracy.length > 0 ? `${mean(c.accuracy).toFixed(3)} ± ${spread(c.accuracy).toFixed(3)}` : '-';
        const loss = `${mean(c.loss).toFixed(4)} ± ${spread(c.loss).toFixed(4)}`;
        const versus = c.versusIncumbent ? `${c.versusIncumbent.gain >= 0 ? '+' : ''}${c.versusIncumbent.gain.toFixed(3)} (z ${c.versusIncumbent.z.toFixed(2)})` : c.recipe === incumbent ? 'prior choice' : '';
        return [c.recipe, accuracy, loss, versus, `${c.seconds.toFixed(1)} s`, c.recipe === this.strategy ? 'chosen' : ''];
      });
      const header = ['candidate', 'held-out accuracy', 'held-out loss', `vs ${incumbent ?? 'first'}, per sample`, 'time', ''];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const format = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd();
      lines.push(format(header));
      for (const row of rows) lines.push(format(row));
    }
    if (this.probe) {
      const tried = this.probe.candidates.map((c) => `${c.l2}: ${c.loss.toFixed(4)}`).join(', ');
      lines.push(`probe: weight decay ${this.probe.l2}${tried ? ` (held-out loss by weight decay: ${tried})` : ''}, ${this.probe.iterations} L-BFGS iterations (stopped: ${this.probe.stopped})`);
    }
    const c = this.cost;
    lines.push(`cost: ${c.ratio.toFixed(2)}x the training passes of one plain fit (${c.samplePasses} / ${c.plainFitPasses} sample passes), ${c.seconds.toFixed(1)} s in all`);
    return lines.join('\n');
  }
}
