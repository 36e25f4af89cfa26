/**
 * bench:locomo — retrieval recall on LoCoMo (Maharana et al., ACL 2024) through Cairn's public
 * memory API: each conversation's dialog turns are saved as turn memories (one channel scope
 * per conversation, session dates kept, the two previous turns of the session as context), then
 * each question is recalled in its own conversation's scope and scored as the paper does:
 * evidence turns found in the top k / evidence turns.
 *
 *   npm run bench:locomo -- --data <path to locomo10.json> [--json] [--embeddings local]
 *
 * The data is CC BY-NC 4.0: fetch it yourself (snap-research/LoCoMo, data/locomo10.json);
 * Cairn never copies it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import { createEmbedder } from '../src/memory/embedders/index.js';
import { Memory } from '../src/memory/memory.js';
import { readableScopes, type MemoryInput, type RunScope } from '../src/memory/types.js';
import { loadLocomo, scoreQuestion, summarise, type LocomoTurn, type ScoredQuestion } from './locomo-data.js';

const KS = [5, 10, 25, 50] as const;
const CONTEXT_TURNS = 2;

const { values } = parseArgs({
  options: { data: { type: 'string' }, json: { type: 'boolean', default: false }, embeddings: { type: 'string', default: 'local' } },
});
if (values.data === undefined) {
  console.error('bench:locomo needs --data <path to locomo10.json> (CC BY-NC 4.0; from the LoCoMo repository, data/locomo10.json).');
  process.exit(2);
}

/** A turn as a chat memory: a shared photo is part of what was said. */
const said = (turn: LocomoTurn) => (turn.caption === undefined ? turn.text : `${turn.text} [shared a photo: ${turn.caption}]`);

const log = silentLogger();
const data = await loadLocomo(values.data);
const embedder = await createEmbedder(values.embeddings, { timeoutMs: 60_000, maxRetries: 3, baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY }, log);
const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-locomo-'));
const memory = await Memory.open({ uri: dir, embedder, log, maintenance: { maxMemories: 1_000_000 } });
const scored: ScoredQuestion[] = [];
const started = performance.now();
try {
  for (const conversation of data.conversations) {
    const scope: RunScope = { userId: `locomo-${conversation.sampleId}`, channelId: conversation.sampleId };
    const inputs: MemoryInput[] = conversation.turns.map((turn, i) => {
      const earlier = conversation.turns.slice(Math.max(0, i - CONTEXT_TURNS), i).filter((t) => t.session === turn.session);
      // Session dates have minute resolution: offset each turn so order (and identity) is kept.
      const sessionStart = turn.createdAt?.getTime() ?? 0;
      return {
        kind: 'turn',
        text: said(turn),
        speaker: turn.speaker,
        ...(earlier.length === 0 ? {} : { context: earlier.map((t) => `${t.speaker}: ${said(t)}`).join('\n') }),
        createdAt: new Date(sessionStart + i * 1000),
        scope,
        visibility: 'channel',
        metadata: { diaId: turn.id },
      };
    });
    const saved = await memory.semantic.saveMany(inputs);
    const diaIdOf = new Map(saved.map((s, i) => [s.id, conversation.turns[i]?.id ?? '']));
    await memory.maintenance.runAll();
    for (const question of conversation.questions) {
      const hits = await memory.semantic.recall({ query: question.question, scopes: readableScopes(scope), kinds: ['turn'], limit: Math.max(...KS) });
      scored.push(scoreQuestion(question, hits.map((h) => diaIdOf.get(h.memory.id) ?? ''), KS));
    }
    if (!values.json) console.log(`${conversation.sampleId}: ${conversation.turns.length} turns, ${conversation.questions.length} questions`);
  }
} finally {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
}

const summary = summarise(scored, KS);
const asRecord = (recall: Record<number, number>) => Object.fromEntries(KS.map((k) => [String(k), recall[k] ?? 0]));
const report = {
  recall: {
    overall: asRecord(summary.overall),
    byCategory: Object.fromEntries(Object.entries(summary.byCategory).map(([name, c]) => [name, asRecord(c.recall)])),
  },
  embedder: embedder.id,
  questions: summary.questions,
  evidence: { repaired: data.repaired.length, dropped: data.dropped.length, questionsWithoutEvidence: data.noEvidence },
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
if (!values.json) {
  console.log(`recall@5/10/25/50 overall: ${KS.map((k) => summary.overall[k]).join(' / ')} (DRAGON: 56.7 / 66.2 / 76.7 / 82.7; BM25: 54.5 / 60.7 / 68.4 / 73.0)`);
  console.log(`evidence ids: ${report.evidence.repaired} repaired, ${report.evidence.dropped} dropped; ${report.evidence.questionsWithoutEvidence} questions without evidence (scored 1, as the paper does)`);
}
console.log(JSON.stringify(report));
