'use strict';
/** Tables and target checks of the transfer suite (bench/transfer/run.js): results[n][arm] = runs over seeds. */

const { meanAndSpread } = require('../../examples/data/results-table');

const accuracyOf = (runs) => meanAndSpread(runs.map((r) => r.accuracy));

/** How often the default chose each recipe, e.g. "lpft 3, probe 2". */
function choices(runs) {
  const counts = new Map();
  for (const run of runs) counts.set(run.chose, (counts.get(run.chose) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ${count}`).join(', ');
}

/** A markdown table: one row per N, one column per arm, then the default's choices and its cost. */
function formatTable(task, options) {
  const arms = options.arms;
  const hasDefault = arms.includes('default');
  const header = ['N', ...arms];
  if (hasDefault) header.push('default chose', 'default cost (passes / time vs finetune)');
  const lines = [
    `${task.title}: source ${task.sourceAccuracy.toFixed(3)} on held-out A; pool ${task.poolSize}, test ${task.testSize}; test accuracy, mean ± sd over ${options.seeds} seeds`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
  ];
  for (const n of options.labels) {
    const runs = task.results[n];
    const means = arms.map((arm) => accuracyOf(runs[arm]).mean);
    const best = Math.max(...means);
    const cells = arms.map((arm, i) => {
      const { mean, std } = accuracyOf(runs[arm]);
      const text = `${mean.toFixed(3)} ± ${std.toFixed(3)}`;
      return means[i] === best ? `**${text}**` : text;
    });
    if (hasDefault) {
      const passes = meanAndSpread(runs.default.map((r) => r.costRatio)).mean;
      let time = '';
      if (arms.includes('finetune')) {
        const ratio = meanAndSpread(runs.default.map((r, i) => r.seconds / Math.max(runs.finetune[i].seconds, 1e-3))).mean;
        time = ` / ${ratio.toFixed(1)}x`;
      }
      cells.push(choices(runs.default), `${passes.toFixed(1)}x${time}`);
    }
    lines.push(`| ${n === 'all' ? `all (${task.poolSize})` : n} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Issue 12's targets for the default, per task and N; returns a report ending in one line of counts. */
function checkTargets(tasks, options) {
  if (!options.arms.includes('default') || !options.arms.includes('scratch')) return 'Targets: need the default and scratch arms';
  const lines = ['Targets (default vs the other arms, test accuracy means):'];
  let met = 0;
  let missed = 0;
  const verdict = (ok) => {
    if (ok) met++;
    else missed++;
    return ok ? 'met' : 'MISSED';
  };
  for (const task of tasks) {
    for (const n of options.labels) {
      const runs = task.results[n];
      const mean = (arm) => accuracyOf(runs[arm]).mean;
      // The unlabelled arm starts from another source: the targets compare the recipes on the supervised one.
      const others = options.arms.filter((a) => a !== 'default' && a !== 'unlabelled');
      const bestArm = others.reduce((a, b) => (mean(b) > mean(a) ? b : a));
      const [def, scratch, best] = [mean('default'), mean('scratch'), mean(bestArm)];
      const parts = [`within 1 point of the best (${bestArm} ${best.toFixed(3)}): ${verdict(def >= best - 0.01)}`];
      parts.push(`not below scratch - 1 point (${scratch.toFixed(3)}): ${verdict(def >= scratch - 0.01)}`);
      if (n === 50 && best >= scratch + 0.05) parts.push(`>= scratch + 5 points: ${verdict(def >= scratch + 0.05)}`);
      lines.push(`  ${task.id} N=${n}: default ${def.toFixed(3)}; ${parts.join('; ')}`);
    }
  }
  lines.push(`${met} met, ${missed} missed`);
  return lines.join('\n');
}

module.exports = { formatTable, checkTargets };
