// Recall that generalises (issue 15, part 3): the reranking stages after fusion, measured fast.
// Each question is recalled once with every stage off and every candidate kept (limit 1000);
// since the stages only reorder those candidates, any weighting is then scored in memory by the
// same rerank() recall uses. Candidates are cached per data file and over-fetch under $TMPDIR.
// --over-fetch is the candidates taken from each list (100 = what bench:locomo's recall of 50
// uses, so its rows match bench:locomo; 2000 = every turn). A question's `question_date` is its
// "now" when the file has one (relative times), else a day after the conversation's last turn.
//   node --import tsx bench/research/10-rerank.ts [--data file] [--conversations 1-5] [--over-fetch 100]
//     [--variant speakerBoost=0.3,speakerNeedsTopic=1]... [--grid] [--diff variant] [--json]
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { Memory } from '../../src/memory/memory.js';
import { analyseQuery } from '../../src/memory/query/analyse.js';
import { DEFAULT_FEATURES, NO_FEATURES, type RecallFeatures } from '../../src/memory/query/features.js';
import { rerank, type QueryAnalysis, type Reranked, type RerankCandidate } from '../../src/memory/query/rerank.js';
import { contentStems } from '../../src/memory/query/terms.js';
import { tokenize } from '../../src/memory/embedders/tokenize.js';
import { readableScopes, type MemoryInput } from '../../src/memory/types.js';
import { loadLocomo, scoreQuestion, summarise, type CategoryName, type LocomoTurn, type ScoredQuestion } from '../locomo-data.js';
import { pickConversations } from './locomo-variants.js';

const KS = [5, 10, 25, 50] as const;
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: process.env.LOCOMO_PATH ?? '/work/shared/bench-data/locomo10.json' },
    conversations: { type: 'string' },
    'over-fetch': { type: 'string', default: '100' },
    grid: { type: 'boolean', default: false },
    variant: { type: 'string', multiple: true },
    diff: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

interface Cached {
  conversation: number;
  question: string;
  category: CategoryName;
  evidence: string[];
  /** When the question was asked: after the conversation's last turn. */
  now: number;
  candidates: (RerankCandidate & { diaId: string })[];
}

const overFetch = Number(values['over-fetch']);
if (!Number.isInteger(overFetch) || overFetch < 1) throw new Error('--over-fetch: a whole number of candidates, at least 1');

const said = (t: LocomoTurn) => (t.caption === undefined ? t.text : `${t.text} [shared a photo: ${t.caption}]`);

async function build(file: string): Promise<Cached[]> {
  const data = await loadLocomo(file);
  const log = silentLogger();
  const embedder = await createEmbedder('local', { timeoutMs: 60_000, maxRetries: 0 }, log);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-r10-'));
  const memory = await Memory.open({ uri: dir, embedder, log, maintenance: { maxMemories: 1_000_000 } });
  const out: Cached[] = [];
  try {
    for (const [ci, c] of data.conversations.entries()) {
      const scope = { userId: `u-${c.sampleId}`, channelId: c.sampleId };
      const inputs: MemoryInput[] = c.turns.map((turn, i) => {
        const earlier = c.turns.slice(Math.max(0, i - 2), i).filter((t) => t.session === turn.session);
        return {
          kind: 'turn',
          text: said(turn),
          speaker: turn.speaker,
          ...(earlier.length === 0 ? {} : { context: earlier.map((t) => `${t.speaker}: ${said(t)}`).join('\n') }),
          createdAt: new Date((turn.createdAt?.getTime() ?? 0) + i * 1000),
          scope,
          visibility: 'channel',
        };
      });
      const saved = await memory.semantic.saveMany(inputs);
      const diaIdOf = new Map(saved.map((s, i) => [s.id, c.turns[i]?.id ?? '']));
      await memory.maintenance.runAll();
      const last = Math.max(...c.turns.map((t) => t.createdAt?.getTime() ?? 0));
      for (const q of c.questions) {
        const hits = await memory.semantic.recall({ query: q.question, scopes: readableScopes(scope), kinds: ['turn'], limit: 1000, overFetch, features: NO_FEATURES });
        out.push({
          conversation: ci + 1,
          question: q.question,
          category: q.categoryName,
          evidence: q.evidence,
          now: q.askedAt?.getTime() ?? last + 86_400_000,
          candidates: hits.map((h) => ({ id: h.memory.id, diaId: diaIdOf.get(h.memory.id) ?? '', score: h.score, createdAt: h.memory.createdAt, speaker: h.memory.speaker, text: h.memory.text })),
        });
      }
      console.error(`${c.sampleId}: cached ${c.questions.length} questions`);
    }
  } finally {
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

const key = createHash('sha256').update(await readFile(values.data)).digest('hex').slice(0, 12);
const cacheFile = path.join(os.tmpdir(), 'cairn-research-cache', `10-rerank-${key}-of${overFetch}.json`);
let cached: Cached[];
try {
  cached = JSON.parse(await readFile(cacheFile, 'utf8')) as Cached[];
} catch {
  cached = await build(values.data);
  await mkdir(path.dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify(cached));
}
const positions = new Set(pickConversations([...new Set(cached.map((c) => c.conversation))], values.conversations));
const questions = cached.filter((c) => positions.has(c.conversation));

/**
 * Ideas tried on top of the shipped stages (README, "Rerank variants that did not generalise"),
 * each 0 = as shipped; when all are 0 the shipped rerank() is used unchanged.
 * - dropNames 1: speakers' names are not counted as the query's words in the own-words share.
 * - speakerNeedsTopic (0–1): that part of the speaker boost needs the memory's own text to share a
 *   query word (names aside); speakerNeedsTopicQ: the same per question, scaled by how fully the
 *   named person's best candidate says the query's words against the best candidate overall.
 * - rareWords (0–1): own-words share weighs each query word by its IDF among the candidates.
 * - maxFactor: cap on the product of the boosts.
 */
interface Extra {
  dropNames: number;
  speakerNeedsTopic: number;
  speakerNeedsTopicQ: number;
  rareWords: number;
  maxFactor: number;
}
type Weights = RecallFeatures & Extra;
const NO_EXTRA: Extra = { dropNames: 0, speakerNeedsTopic: 0, speakerNeedsTopicQ: 0, rareWords: 0, maxFactor: 0 };

function researchRerank(candidates: readonly RerankCandidate[], analysis: QueryAnalysis, f: Weights): Reranked[] {
  if (f.dropNames === 0 && f.speakerNeedsTopic === 0 && f.speakerNeedsTopicQ === 0 && f.rareWords === 0 && f.maxFactor === 0) return rerank(candidates, analysis, f);
  if (f.dayDiversity > 0) throw new Error('the research variants do not implement dayDiversity');
  const own = candidates.map((c) => contentStems(c.text));
  const names = new Set<string>();
  if (f.dropNames > 0) for (const sp of new Set(candidates.map((c) => c.speaker))) if (sp !== null) for (const s of contentStems(sp)) names.add(s);
  const weights = new Map<string, number>();
  for (const s of analysis.stems) if (!names.has(s)) weights.set(s, 1);
  if (f.rareWords > 0) {
    const most = Math.log(1 + own.length);
    for (const s of weights.keys()) {
      const df = own.filter((o) => o.has(s)).length;
      weights.set(s, 1 - f.rareWords + (f.rareWords * Math.log(1 + own.length / (1 + df))) / most);
    }
  }
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  const shares = own.map((o) => (total === 0 ? 0 : [...weights].reduce((acc, [s, w]) => acc + (o.has(s) ? w : 0), 0) / total));
  const named = candidates.map((c) => c.speaker !== null && tokenize(c.speaker).some((part) => part.length > 1 && analysis.words.has(part)));
  let bestAll = 0;
  let bestNamed = 0;
  for (const [i, sh] of shares.entries()) {
    bestAll = Math.max(bestAll, sh);
    if (named[i] === true) bestNamed = Math.max(bestNamed, sh);
  }
  const questionTopical = bestAll === 0 ? 1 : bestNamed / bestAll;
  const scored = candidates.map((c, i) => {
    const share = shares[i] ?? 0;
    let factor = 1;
    if (f.speakerBoost > 0 && named[i] === true) {
      const lineTopical = share > 0 ? 1 : 0;
      factor *= 1 + f.speakerBoost * (1 - f.speakerNeedsTopic * (1 - lineTopical)) * (1 - f.speakerNeedsTopicQ * (1 - questionTopical));
    }
    if (f.ownWordsBoost > 0) factor *= 1 + f.ownWordsBoost * share;
    const w = analysis.window;
    if (f.timeBoost > 0 && w !== undefined && c.createdAt >= w.since && c.createdAt < w.until) factor *= 1 + f.timeBoost;
    if (f.maxFactor > 0) factor = Math.min(factor, f.maxFactor);
    return { id: c.id, score: c.score * factor, factor };
  });
  return scored.sort((a, b) => b.score - a.score);
}

function scoreEach(features: Weights): ScoredQuestion[] {
  return questions.map((q) => {
    const order = researchRerank(q.candidates, analyseQuery(q.question, q.now), features);
    const byId = new Map(q.candidates.map((c) => [c.id, c.diaId]));
    return scoreQuestion({ question: q.question, category: 1, categoryName: q.category, evidence: q.evidence }, order.map((o) => byId.get(o.id) ?? ''), KS);
  });
}

const fmt = (r: Record<number, number>) => KS.map((k) => (r[k] ?? 0).toFixed(1)).join('/');
const row = (name: string, f: Weights) => {
  const s = summarise(scoreEach(f), KS);
  const cats = Object.entries(s.byCategory).map(([n, c]) => `${n} ${fmt(c.recall)}`);
  return { name, features: f, summary: s, line: `${name.padEnd(40)} ${fmt(s.overall)}  | ${cats.join(' | ')}` };
};

/** "key=value,..." over the default weights (`none` first starts from every stage off). */
function parseWeights(spec: string): Weights {
  const f: Weights = { ...DEFAULT_FEATURES, ...NO_EXTRA };
  for (const part of spec.split(',')) {
    const [k, w] = part.split('=');
    if (k === 'none') Object.assign(f, NO_FEATURES, NO_EXTRA);
    else if (k === 'default') Object.assign(f, DEFAULT_FEATURES, NO_EXTRA);
    else if (k !== undefined && k in f && Number.isFinite(Number(w))) (f as unknown as Record<string, number>)[k] = Number(w);
    else throw new Error(`--variant "${spec}": "${part}" is not one of ${Object.keys(f).join(', ')} = a number`);
  }
  return f;
}

const rows: { name: string; f: Weights }[] = [
  { name: 'none', f: { ...NO_FEATURES, ...NO_EXTRA } },
  { name: 'default', f: { ...DEFAULT_FEATURES, ...NO_EXTRA } },
];
for (const v of values.variant ?? []) rows.push({ name: v, f: parseWeights(v) });
if (values.grid) {
  for (const speakerBoost of [0.2, 0.3, 0.4])
    for (const speakerNeedsTopic of [0, 1])
      for (const ownWordsBoost of [0.15, 0.3, 0.5])
        for (const rareWords of [0, 0.5, 1])
          for (const maxFactor of [0, 1.5])
            rows.push({
              name: `sp${speakerBoost} nt${speakerNeedsTopic} ow${ownWordsBoost} rw${rareWords} mf${maxFactor}`,
              f: { ...DEFAULT_FEATURES, ...NO_EXTRA, speakerBoost, speakerNeedsTopic, ownWordsBoost, rareWords, maxFactor },
            });
}
const results = rows.map((r) => row(r.name, r.f));
if (values.json) for (const r of results) console.log(JSON.stringify({ name: r.name, features: r.features, questions: r.summary.questions, overall: r.summary.overall, byCategory: r.summary.byCategory }));
else for (const r of results) console.log(r.line);

// --diff: the questions whose R@5 or R@10 the variant changes against the default, to read why.
if (values.diff !== undefined) {
  const base = scoreEach({ ...DEFAULT_FEATURES, ...NO_EXTRA });
  const other = scoreEach(parseWeights(values.diff));
  for (const [i, q] of questions.entries()) {
    const a = base[i]?.recall ?? {};
    const b = other[i]?.recall ?? {};
    if (a[5] === b[5] && a[10] === b[10]) continue;
    console.log(`${q.category.padEnd(12)} @5 ${(a[5] ?? 0).toFixed(2)}→${(b[5] ?? 0).toFixed(2)} @10 ${(a[10] ?? 0).toFixed(2)}→${(b[10] ?? 0).toFixed(2)}  c${q.conversation} ${q.question}`);
  }
}
