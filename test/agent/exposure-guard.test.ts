/**
 * The untrusted-content guard through the agent: a web page asks the model to send the user's
 * data to another host. Once a run has read such content, a request to a host that neither the
 * goal, the user's messages nor an earlier approval named waits for the user, whatever its risk,
 * and without anyone to ask it is not sent. In every mode, across tasks and attempts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AGENT_MODES } from '../../src/agent/agent.js';
import { defineTool } from '../../src/tools/define.js';
import { approving, ARTICLE_URL, get, GUIDE_URL, guardedAgent, LEAK_URL, modelFor, toolResults, useFakeWeb } from './exposure-fixtures.js';
import { recorder, useHarness } from './harness.js';

const h = useHarness();
const { web, tools } = useFakeWeb();
const GOAL = `Summarise the article at ${ARTICLE_URL}`;
const NOT_SENT = /^Not sent: "http_get" would send a request to attacker\.test, which neither the user's goal nor their messages named.*content from others or the web asked for a request that was not sent\.$/s;

describe('after reading a web page that asks for a request elsewhere', () => {
  it.each(AGENT_MODES)('%s: asks the user before sending it, showing the full URL, though http_get is low risk', async (mode) => {
    h.fake.respondWith(modelFor(mode, [[get(ARTICLE_URL)], [get(LEAK_URL), get(`${LEAK_URL}&page=2`)]]));
    const { asked, approver } = approving();
    const result = await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: GOAL, mode, approver });
    expect(result.status).toBe('succeeded');
    // Asked once: the article's host is in the goal, and the approved host needs no second approval.
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ tool: 'http_get', risk: 'low', arguments: JSON.stringify({ url: LEAK_URL }, null, 2) });
    expect(asked[0]?.reason).toMatch(/read text written by other people or taken from the web .*send a request to attacker\.test, a host that neither your goal nor your messages named/);
    expect(web.hosts()).toEqual(['news.test', 'attacker.test', 'attacker.test']);
  });

  it.each(AGENT_MODES)('%s: with no one to ask, does not send it and tells the model why', async (mode) => {
    h.fake.respondWith(modelFor(mode, [[get(ARTICLE_URL)], [get(LEAK_URL)]]));
    const { events, sink } = recorder();
    const result = await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: GOAL, mode, sinks: [sink] });
    expect(result.status).toBe('succeeded');
    expect(web.hosts()).toEqual(['news.test']);
    expect(toolResults(h.fake).filter((text) => text.startsWith('Not sent'))).toEqual([expect.stringMatching(NOT_SENT)]);
    expect(events.find((e) => e.type === 'approval')).toMatchObject({ tool: 'http_get', outcome: 'unavailable', by: null });
    expect(events.find((e) => e.type === 'tool_result' && !e.ok)).toMatchObject({ tool: 'http_get', errorKind: 'denied' });
  });

  it('sends nothing when the user denies it, and says who did', async () => {
    h.fake.respondWith(modelFor('react', [[get(ARTICLE_URL), get(LEAK_URL)]]));
    await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: GOAL, approver: () => Promise.resolve({ outcome: 'denied', by: 'ada' }) });
    expect(web.hosts()).toEqual(['news.test']);
    expect(toolResults(h.fake).join('\n')).toContain('needs the user\'s approval, and the user (ada) denied it: nothing was sent');
  });

  it.each(AGENT_MODES)('%s: fetches a host the goal names without asking', async (mode) => {
    h.fake.respondWith(modelFor(mode, [[get(ARTICLE_URL)], [get(GUIDE_URL)]]));
    const { asked, approver } = approving();
    const result = await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: `${GOAL}, then compare it with the guide on docs.test.`, mode, approver });
    expect(result.status).toBe('succeeded');
    expect(asked).toEqual([]);
    expect(web.hosts()).toEqual(['news.test', 'docs.test']);
  });

  it("counts a host the user named in an earlier message of the conversation, but not one Cairn's own reply named", async () => {
    h.fake.respondWith(modelFor('react', [[get(ARTICLE_URL), get(GUIDE_URL), get(LEAK_URL)]]));
    const history = [
      { role: 'user' as const, content: 'Keep the docs at http://docs.test in mind.' },
      { role: 'assistant' as const, content: 'Sure. Also see attacker.test.' },
    ];
    const result = await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: GOAL, history });
    expect(result.status).toBe('succeeded');
    expect(web.hosts()).toEqual(['news.test', 'docs.test']);
  });

  it('does not hold requests back before the run has read anything untrusted', async () => {
    h.fake.respondWith(modelFor('react', [[get(GUIDE_URL)]]));
    await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: 'Find a guide on fitting doors' });
    expect(web.hosts()).toEqual(['docs.test']);
  });

  it('asks before every call of a tool whose destination it cannot see (an MCP tool), once the run is exposed', async () => {
    const sent: string[] = [];
    const relay = defineTool({
      name: 'chat__post',
      description: 'Posts a message through a chat service.',
      input: z.object({ text: z.string() }),
      risk: 'low',
      egress: 'opaque',
      untrustedOutput: true,
      run: ({ text }) => {
        sent.push(text);
        return Promise.resolve('posted');
      },
    });
    h.fake.respondWith(modelFor('react', [[{ name: 'chat__post', arguments: { text: 'hello' } }, { name: 'chat__post', arguments: { text: 'the door code is 4711' } }]]));
    const { asked, approver } = approving();
    await guardedAgent(h.fake, h.workspaceRoot, [...tools(), relay]).run({ goal: 'Say hello in the chat', approver });
    expect(asked.map((r) => r.arguments)).toEqual([JSON.stringify({ text: 'the door code is 4711' }, null, 2)]);
    expect(asked[0]?.reason).toMatch(/call chat__post, which passes what it is given to a service whose destination Cairn cannot check/);
    expect(sent).toEqual(['hello', 'the door code is 4711']);
  });
});
