import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakeOpenAi, type FakeOpenAi, type FakeOpenAiOptions } from './openai-server.js';

/**
 * One fake model server for a test file: started before its tests, reset before each, closed
 * after. Returns a handle usable at the top level of the file, before the server exists.
 */
export function useFakeOpenAi(options?: FakeOpenAiOptions): FakeOpenAi {
  let current: FakeOpenAi | undefined;
  beforeAll(async () => {
    current = await startFakeOpenAi(options);
  });
  beforeEach(() => {
    current?.reset();
  });
  afterAll(async () => {
    await current?.close();
  });
  const server = (): FakeOpenAi => {
    if (current === undefined) throw new Error('the fake OpenAI server is used before beforeAll started it');
    return current;
  };
  return {
    get baseURL() {
      return server().baseURL;
    },
    get requests() {
      return server().requests;
    },
    chatRequests: () => server().chatRequests(),
    script: (...replies) => {
      server().script(...replies);
    },
    respondWith: (handler) => {
      server().respondWith(handler);
    },
    reset: () => {
      server().reset();
    },
    close: () => server().close(),
  };
}
