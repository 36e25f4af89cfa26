/**
 * The untrusted-content guard and redirects: an open redirect on a host the goal names must not
 * carry a request to a host nobody named once the run has read untrusted text. The redirect is
 * reported instead, and fetching its target is an ordinary call the guard can hold.
 */
import { describe, expect, it } from 'vitest';
import { AGENT_MODES } from '../../src/agent/agent.js';
import { approving, ARTICLE_URL, get, guardedAgent, LEAK_URL, modelFor, REDIRECT_URL, toolResults, useFakeWeb } from './exposure-fixtures.js';
import { useHarness } from './harness.js';

const h = useHarness();
const { web, tools } = useFakeWeb();
const GOAL = `Summarise the article at ${ARTICLE_URL}`;

describe('a redirect to a host nobody named', () => {
  it.each(AGENT_MODES)('%s: is not followed once the run is exposed, and fetching its target asks first', async (mode) => {
    h.fake.respondWith(modelFor(mode, [[get(ARTICLE_URL)], [get(REDIRECT_URL)], [get(LEAK_URL)]]));
    const { asked, approver } = approving();
    const result = await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: GOAL, mode, approver });
    expect(result.status).toBe('succeeded');
    const held = toolResults(h.fake).find((text) => text.includes('Redirect not followed'));
    expect(held).toContain(`it points to ${LEAK_URL}`);
    // The redirect's target only reached once the user approved it as its own call.
    expect(asked.map((r) => r.arguments)).toEqual([JSON.stringify({ url: LEAK_URL }, null, 2)]);
    expect(web.hosts()).toEqual(['news.test', 'news.test', 'attacker.test']);
  });

  it('is followed as usual before the run has read anything untrusted', async () => {
    h.fake.respondWith(modelFor('react', [[get(REDIRECT_URL)]]));
    const result = await guardedAgent(h.fake, h.workspaceRoot, tools()).run({ goal: 'Open http://news.test/out' });
    expect(result.status).toBe('succeeded');
    expect(toolResults(h.fake)[0]).toMatch(/^HTTP 200 OK\nFinal URL: http:\/\/attacker\.test\/collect/);
    expect(web.hosts()).toEqual(['news.test', 'attacker.test']);
  });
});
