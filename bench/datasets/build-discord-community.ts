/**
 * Builds bench/datasets/discord-community.json (LoCoMo format) from the hand-written sources in
 * bench/datasets/source/*.txt. The sources name turns with [[tags]] so that questions cite them
 * by name; this script numbers the turns (dia_id "D<session>:<turn>") and turns tags into ids,
 * failing on an unknown or duplicate tag, an unknown speaker or category. Run:
 *   node --import tsx bench/datasets/build-discord-community.ts
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CATEGORY_CODES = { 'multi-hop': 1, temporal: 2, 'open-domain': 3, 'single-hop': 4, adversarial: 5 } as const;
type CategoryName = keyof typeof CATEGORY_CODES;

interface Turn { speaker: string; dia_id: string; text: string }
interface Qa { question: string; answer: string; evidence: string[]; category: number }
export interface Sample {
  sample_id: string;
  conversation: Record<string, unknown>;
  qa: Qa[];
}

function isCategory(value: string): value is CategoryName {
  return Object.hasOwn(CATEGORY_CODES, value);
}

/** Parses one source file into one LoCoMo sample; errors name the file and line. */
export function parseSource(text: string, file: string): Sample {
  let sampleId = '';
  let speakers: string[] = [];
  const sessions: { date: string; turns: Turn[] }[] = [];
  const tags = new Map<string, string>();
  const qa: Qa[] = [];
  let inQuestions = false;
  const lines = text.split('\n');
  lines.forEach((rawLine, index) => {
    const where = `${file}:${index + 1}`;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('=== sample ')) { sampleId = line.slice('=== sample '.length).trim(); return; }
    if (line.startsWith('speakers:')) { speakers = line.slice('speakers:'.length).split(',').map((s) => s.trim()); return; }
    if (line === '--- questions') { inQuestions = true; return; }
    const session = /^--- session (\d+) \| (.+)$/.exec(line);
    if (session) {
      if (Number(session[1]) !== sessions.length + 1) throw new Error(`${where}: sessions must be numbered 1, 2, 3…`);
      sessions.push({ date: session[2] ?? '', turns: [] });
      return;
    }
    if (inQuestions) {
      const parts = line.split('|').map((p) => p.trim());
      const [category, question, answer, cited] = parts;
      if (parts.length !== 4 || category === undefined || question === undefined || answer === undefined || cited === undefined) {
        throw new Error(`${where}: a question is "category | question | answer | tags"`);
      }
      if (!isCategory(category)) throw new Error(`${where}: unknown category ${category}`);
      const evidence = cited.split(/\s+/).filter((t) => t !== '').map((tag) => {
        const id = tags.get(tag);
        if (id === undefined) throw new Error(`${where}: unknown tag ${tag}`);
        return id;
      });
      if (evidence.length === 0) throw new Error(`${where}: a question needs evidence`);
      qa.push({ question, answer, evidence, category: CATEGORY_CODES[category] });
      return;
    }
    const current = sessions.at(-1);
    const turn = /^([^:]+): (.*?)(?:\s*\[\[([\w-]+)\]\])?$/.exec(line);
    if (!current || !turn) throw new Error(`${where}: expected "Speaker: text"`);
    const speaker = turn[1] ?? '';
    if (!speakers.includes(speaker)) throw new Error(`${where}: unknown speaker ${speaker}`);
    const dia_id = `D${sessions.length}:${current.turns.length + 1}`;
    current.turns.push({ speaker, dia_id, text: (turn[2] ?? '').replaceAll('\\n', '\n') });
    const tag = turn[3];
    if (tag !== undefined) {
      if (tags.has(tag)) throw new Error(`${where}: duplicate tag ${tag}`);
      tags.set(tag, dia_id);
    }
  });
  if (sampleId === '' || speakers.length < 2) throw new Error(`${file}: needs "=== sample" and "speakers:" lines`);
  const conversation: Record<string, unknown> = { speaker_a: speakers[0], speaker_b: speakers[1], speakers };
  sessions.forEach((s, i) => {
    conversation[`session_${i + 1}_date_time`] = s.date;
    conversation[`session_${i + 1}`] = s.turns;
  });
  return { sample_id: sampleId, conversation, qa };
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sourceDir = path.join(here, 'source');
  const files = (await readdir(sourceDir)).filter((f) => f.startsWith('discord-') && f.endsWith('.txt')).sort();
  const samples: Sample[] = [];
  for (const file of files) samples.push(parseSource(await readFile(path.join(sourceDir, file), 'utf8'), file));
  await writeFile(path.join(here, 'discord-community.json'), `${JSON.stringify(samples, null, 1)}\n`);
  const summary = samples.map((s) => ({
    sample: s.sample_id,
    sessions: Object.keys(s.conversation).filter((k) => /^session_\d+$/.test(k)).length,
    turns: Object.entries(s.conversation).filter(([k]) => /^session_\d+$/.test(k)).reduce((n, [, v]) => n + (Array.isArray(v) ? v.length : 0), 0),
    questions: s.qa.length,
    byCategory: Object.fromEntries(Object.entries(CATEGORY_CODES).map(([name, code]) => [name, s.qa.filter((q) => q.category === code).length])),
  }));
  console.log(JSON.stringify(summary));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
