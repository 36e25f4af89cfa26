/**
 * bench:learning — does 👎 change what the agent does next time? A scripted model answers a task
 * correctly only when the relevant lesson is in its system prompt. For each task family: run a
 * task (it fails), vote 👎 with a comment, let the reflection write its lesson, then run a related
 * task. Everything between the vote and the next prompt is real: recordVote, the reflector, the
 * lesson memory in LanceDB, recall and prompt building.
 *
 *   npm run bench:learning -- [--json]
 *
 * successBefore / successAfter: share of first / related tasks answered correctly.
 * leakedLessons: lessons of other families found in a related task's prompt (should be 0).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { recordVote } from '../src/feedback/votes.js';
import { silentLogger } from '../src/log.js';
import { startFakeOpenAi } from '../test/fakes/openai-server.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });

interface Family {
  first: string;
  related: string;
  /** What the lesson tells the agent to do; the scripted model does it only when it reads it. */
  rule: string;
  appliesWhen: string;
  comment: string;
  right: string;
  wrong: string;
}

const FAMILIES: Family[] = [
  { first: 'When is the deploy window on Tuesday?', related: 'What time does the Friday deploy start?', rule: 'give deploy times in Europe/Oslo time', appliesWhen: 'questions about deploy times', comment: 'We are in Oslo, not UTC.', right: '14:00 Oslo time', wrong: '13:00 UTC' },
  { first: 'How far is Bergen from Oslo by road?', related: 'What is the road distance from Lagos to Accra?', rule: 'state road distances in kilometres', appliesWhen: 'questions about road distances between cities', comment: 'Use kilometres please.', right: '463 km', wrong: '288 miles' },
  { first: 'What is the temperature in Riga tomorrow?', related: 'Will the temperature in Lima drop tonight?', rule: 'report temperatures in degrees Celsius', appliesWhen: 'questions about temperature or weather', comment: 'Celsius, not Fahrenheit.', right: '4 °C', wrong: '39 °F' },
  { first: 'Write the release date of version 2 in the changelog', related: 'Add the release date of version 3 to the changelog', rule: 'write release dates in ISO format (YYYY-MM-DD)', appliesWhen: 'writing release dates in the changelog', comment: 'Dates must be ISO.', right: '2026-03-14', wrong: 'March 14th' },
  { first: 'Quote the price of the enterprise plan', related: 'What is the price of the team plan?', rule: 'quote plan prices in euros including VAT', appliesWhen: 'questions about the price of a plan', comment: 'Our customers pay in euros, VAT included.', right: '€1,200 incl. VAT', wrong: '$1,000' },
  { first: 'Write a snippet that parses the config file', related: 'Write a snippet that validates the config file', rule: 'write code snippets in TypeScript with zod', appliesWhen: 'writing code snippets for the config file', comment: 'We only use TypeScript here.', right: '```ts', wrong: '```python' },
  { first: 'Summarise the incident report for the on-call channel', related: 'Summarise the outage report for the on-call channel', rule: 'summarise reports as at most three bullet points', appliesWhen: 'summarising a report for the on-call channel', comment: 'Too long, bullets please.', right: '•', wrong: 'In summary, ' },
  { first: 'Who owns the billing service?', related: 'Who owns the search service?', rule: 'name service owners with their team and Discord handle', appliesWhen: 'questions about who owns a service', comment: 'I need the team and the handle.', right: '(team Payments, @priya)', wrong: 'Priya' },
];

/** The family whose lesson text appears in a prompt, by its rule. */
const applied = (prompt: string) => FAMILIES.filter((f) => prompt.includes(f.rule));

const openai = await startFakeOpenAi();
openai.respondWith((body) => {
  const all = JSON.stringify(body.messages);
  // A reflection asks for a lesson (structured output): answer with the family's lesson.
  if (body.response_format !== undefined) {
    const family = FAMILIES.find((f) => all.includes(f.first)) ?? FAMILIES[0];
    return { kind: 'text', content: JSON.stringify({ wentWrong: `Ignored: ${family?.comment ?? ''}`, doInstead: family?.rule ?? '', appliesWhen: family?.appliesWhen ?? '' }) };
  }
  const system = JSON.stringify(body.messages[0] ?? '');
  const goal = JSON.stringify(body.messages.at(-1) ?? '');
  const family = FAMILIES.find((f) => goal.includes(f.first) || goal.includes(f.related));
  if (family === undefined) return { kind: 'text', content: 'I am not sure.' };
  return { kind: 'text', content: system.includes(family.rule) ? `Answer: ${family.right}` : `Answer: ${family.wrong}` };
});

const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-learning-'));
const app = await createApp(loadConfig({ OPENAI_BASE_URL: openai.baseURL, CAIRN_DATA_DIR: dir, CAIRN_LLM_MAX_RETRIES: '0' }, ['llm']), silentLogger());
const scope = { userId: 'bench-user', userName: 'Bench', channelId: 'bench-channel', guildId: 'bench-guild' };
let before = 0;
let after = 0;
let leaked = 0;
try {
  for (const family of FAMILIES) {
    const first = await app.agent.run({ goal: family.first, scope });
    if (first.answer?.includes(family.right) === true) before += 1;
    await recordVote(app, first.runId, { userId: scope.userId, vote: 'down', comment: family.comment }, { teaches: true });
    await app.reflector.idle();
    const related = await app.agent.run({ goal: family.related, scope });
    if (related.answer?.includes(family.right) === true) after += 1;
    const prompt = JSON.stringify(openai.chatRequests().at(-1)?.messages[0] ?? '');
    leaked += applied(prompt).filter((f) => f !== family).length;
  }
} finally {
  await app.close();
  await openai.close();
  await rm(dir, { recursive: true, force: true });
}

const pct = (n: number) => Math.round((1000 * n) / FAMILIES.length) / 10;
const report = { tasks: FAMILIES.length, successBefore: pct(before), successAfter: pct(after), leakedLessons: leaked };
if (!values.json) console.log(`${FAMILIES.length} task families: ${report.successBefore}% right before feedback, ${report.successAfter}% after; ${leaked} lessons leaked into unrelated tasks`);
console.log(JSON.stringify(report));
