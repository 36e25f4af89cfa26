// Recall that generalises (issue 15, part 3): the reranking stages after fusion, measured fast.
// Each question is recalled once with every stage off and every candidate kept (limit 1000);
// since the stages only reorder those candidates, any weighting is then scored in memory by the
// same rerank() recall uses. Candidates are cached per data file under $TMPDIR.
//   node --import tsx bench/research/10-rerank.ts [--data file] [--conversations 1-5] [--grid]
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
import { rerank, type RerankCandidate } from '../../src/memory/query/rerank.js';
import { readableScopes, type MemoryInput } from '../../src/memory/types.js';
import { loadLocomo, scoreQuestion, summarise, type CategoryName, type LocomoTurn, type ScoredQuestion } from '../locomo-data.js';
import { pickConversations } from './locomo-variants.js';

const KS = [5, 10, 25, 50] as const;
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: process.env.LOCOMO_PATH ?? '/work/shared/bench-data/locomo10.json' },
    conversations: { type: 'string' },
    grid: { type: 'boolean', default: false },
    variant: { type: 'string', multiple: true },
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
        const hits = await memory.semantic.recall({ query: q.question, scopes: readableScopes(scope), kinds: ['turn'], limit: 1000, features: NO_FEATURES });
        out.push({
          conversation: ci + 1,
          question: q.question,
          category: q.categoryName,
          evidence: q.evidence,
          now: last + 86_400_000,
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
const cacheFile = path.join(os.tmpdir(), 'cairn-research-cache', `10-rerank-${key}.json`);
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

function score(features: RecallFeatures) {
  const scored: ScoredQuestion[] = questions.map((q) => {
    const order = rerank(q.candidates, analyseQuery(q.question, q.now), features);
    const byId = new Map(q.candidates.map((c) => [c.id, c.diaId]));
    return scoreQuestion({ question: q.question, category: 1, categoryName: q.category, evidence: q.evidence }, order.map((o) => byId.get(o.id) ?? ''), KS);
  });
  return summarise(scored, KS);
}

const row = (name: string, f: RecallFeatures) => {
  const s = score(f);
  const cats = Object.entries(s.byCategory).map(([n, c]) => `${n} ${KS.map((k) => (c.recall[k] ?? 0).toFixed(1)).join('/')}`);
  return { name, line: `${name.padEnd(40)} ${KS.map((k) => (s.overall[k] ?? 0).toFixed(1)).join(' / ')}  | ${cats.join(' | ')}`, overall: s.overall };
};

const rows: { name: string; f: RecallFeatures }[] = [
  { name: 'none', f: NO_FEATURES },
  { name: 'default', f: DEFAULT_FEATURES },
];
for (const v of values.variant ?? []) {
  const f: RecallFeatures = { ...DEFAULT_FEATURES };
  for (const part of v.split(',')) {
    const [k, w] = part.split('=');
    if (k === 'none') Object.assign(f, NO_FEATURES);
    else if (k !== undefined && k in f) (f as unknown as Record<string, number>)[k] = Number(w);
  }
  rows.push({ name: v, f });
}
if (values.grid) {
  for (const speakerBoost of [0, 0.1, 0.2, 0.3, 0.5])
    for (const ownWordsBoost of [0, 0.15, 0.3, 0.5, 0.8])
      for (const dayDiversity of [0, 0.05, 0.1, 0.2])
        rows.push({ name: `sp${speakerBoost} ow${ownWordsBoost} dd${dayDiversity}`, f: { ...DEFAULT_FEATURES, speakerBoost, ownWordsBoost, dayDiversity } });
}
const results = rows.map((r) => row(r.name, r.f));
for (const r of results) console.log(r.line);
const best = [...results].sort((a, b) => (b.overall[5] ?? 0) + (b.overall[10] ?? 0) - (a.overall[5] ?? 0) - (a.overall[10] ?? 0))[0];
console.log(JSON.stringify({ questions: questions.length, best: best?.name, bestOverall: best?.overall }));
