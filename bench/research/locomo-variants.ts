/** Recall variants for bench:locomo's ablations, the conversation filter, and the table it prints. */
import { DEFAULT_FEATURES, FEATURE_NAMES, NO_FEATURES, type RecallFeatures } from '../../src/memory/query/features.js';
import type { QueryRewriter } from '../../src/memory/query/rewrite.js';
import type { RecallSummary } from '../locomo-data.js';

export interface Variant {
  name: string;
  features: RecallFeatures;
  rewriter?: QueryRewriter;
}

/** "name:base,key=value,..." where base is `none` or `default` (default when left out). */
export function parseVariant(spec: string): Variant {
  const [name = '', rest = 'default'] = spec.split(/:(.*)/s);
  if (name === '') throw new Error(`--variant "${spec}": give it a name, as name:default,key=value`);
  let features: RecallFeatures = { ...DEFAULT_FEATURES };
  for (const part of rest.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    if (part === 'none') features = { ...NO_FEATURES };
    else if (part === 'default') features = { ...DEFAULT_FEATURES };
    else {
      const [key, value] = part.split('=');
      const feature = FEATURE_NAMES.find((f) => f === key);
      const weight = Number(value);
      if (feature === undefined || !Number.isFinite(weight)) throw new Error(`--variant "${spec}": "${part}" is not one of ${FEATURE_NAMES.join(', ')} = a number`);
      features = { ...features, [feature]: weight };
    }
  }
  return { name, features };
}

/** none, default, default without each stage, and each stage alone at its default weight. */
export function ablationVariants(): Variant[] {
  const out: Variant[] = [{ name: 'none', features: { ...NO_FEATURES } }, { name: 'default', features: { ...DEFAULT_FEATURES } }];
  for (const f of FEATURE_NAMES) {
    if (DEFAULT_FEATURES[f] === 0) continue;
    out.push({ name: `default-${f}`, features: { ...DEFAULT_FEATURES, [f]: 0 } });
    out.push({ name: `only-${f}`, features: { ...NO_FEATURES, [f]: DEFAULT_FEATURES[f] } });
  }
  return out;
}

/** "1-5" or "6,7,9" (1-based positions in the file); undefined keeps all. */
export function pickConversations<T>(all: readonly T[], spec: string | undefined): T[] {
  if (spec === undefined) return [...all];
  const wanted = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`--conversations "${spec}": use positions like 1-5 or 6,7,9`);
    const from = Number(m[1]);
    const to = Number(m[2] ?? m[1]);
    for (let i = from; i <= to; i++) wanted.add(i);
  }
  return all.filter((_, i) => wanted.has(i + 1));
}

const pad = (s: string, n: number) => s.padEnd(n);

/** One variant's recall by category and overall, at every k. */
export function renderTable(variant: Variant, summary: RecallSummary, ks: readonly number[]): string {
  const weights = Object.entries(variant.features).filter(([, w]) => w !== 0).map(([f, w]) => `${f}=${w}`).join(', ') || 'no reranking';
  const lines = [`\n${variant.name} (${weights}${variant.rewriter === undefined ? '' : ', model query rewriting'})`];
  const width = Math.max(13, ...Object.keys(summary.byCategory).map((name) => name.length + 2));
  lines.push(`${pad('category', width)}${pad('questions', 11)}${ks.map((k) => pad(`R@${k}`, 7)).join('')}`);
  for (const [name, c] of Object.entries(summary.byCategory)) {
    lines.push(`${pad(name, width)}${pad(String(c.questions), 11)}${ks.map((k) => pad((c.recall[k] ?? 0).toFixed(1), 7)).join('')}`);
  }
  lines.push(`${pad('overall', width)}${pad(String(summary.questions), 11)}${ks.map((k) => pad((summary.overall[k] ?? 0).toFixed(1), 7)).join('')}`);
  return lines.join('\n');
}
