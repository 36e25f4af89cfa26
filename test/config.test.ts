import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, secretsOf } from '../src/config.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('applies documented defaults', () => {
    const config = loadConfig({ OPENAI_API_KEY: 'sk-x' }, ['llm'], '/srv/cairn');
    expect(config.llm).toMatchObject({ model: 'gpt-4o-mini', timeoutMs: 120_000, maxRetries: 3 });
    expect(config.limits).toEqual({ maxSteps: 20, maxTokens: 500_000, maxCostUsd: 1, runTimeoutMs: 900_000 });
    expect(config.dataDir).toBe(path.resolve('/srv/cairn', 'memory-data'));
    expect(config).toMatchObject({ embeddings: 'local', minScheduleIntervalS: 60, logLevel: 'info' });
    expect(config.modes).toEqual({ reflexionAttempts: 3, planReplans: 2 });
    expect(config.schedules).toEqual({ maxConcurrentRuns: 2, catchUp: 'one', maxFailures: 5, backoffBaseMs: 60_000, maxSchedules: 25 });
  });

  it('bounds LanceDB\'s caches, sizing the index cache to the memory cap unless it is set', () => {
    expect(loadConfig({}).memoryCacheMb).toEqual({ index: 782, metadata: 16 });
    expect(loadConfig({ CAIRN_MEMORY_MAX_ROWS: '1000000' }).memoryCacheMb.index).toBe(3_907);
    expect(loadConfig({ CAIRN_MEMORY_MAX_ROWS: '1000' }).memoryCacheMb.index).toBe(256);
    expect(loadConfig({ CAIRN_MEMORY_INDEX_CACHE_MB: '2048', CAIRN_MEMORY_METADATA_CACHE_MB: '64' }).memoryCacheMb).toEqual({ index: 2_048, metadata: 64 });
    expect(problemsOf(() => loadConfig({ CAIRN_MEMORY_INDEX_CACHE_MB: '8', CAIRN_MEMORY_METADATA_CACHE_MB: 'lots' }))).toEqual([
      expect.stringMatching(/CAIRN_MEMORY_INDEX_CACHE_MB.*at least 16/),
      expect.stringMatching(/CAIRN_MEMORY_METADATA_CACHE_MB.*must be a number/),
    ]);
  });

  it('treats MCP header and env values given inline as secrets to scrub from logs', () => {
    const servers = JSON.stringify([{ name: 'gh', transport: 'http', url: 'https://mcp.example.org', headers: { Authorization: 'Bearer ghp_0123456789' } }, { name: 'fs', command: 'x', env: { TOKEN: 'tok-abcdefgh', N: '1' } }]);
    const secrets = secretsOf(loadConfig({ CAIRN_MCP_SERVERS: servers }));
    expect(secrets).toEqual(expect.arrayContaining(['Bearer ghp_0123456789', 'tok-abcdefgh']));
    expect(secrets).not.toContain('1');
    expect(secrets).not.toContain('https://mcp.example.org');
  });

  it('checks the schedule settings', () => {
    expect(problemsOf(() => loadConfig({ CAIRN_SCHEDULE_CATCH_UP: 'all', CAIRN_MAX_SCHEDULED_RUNS: '0' }))).toEqual([
      'CAIRN_MAX_SCHEDULED_RUNS: must be at least 1 (got "0")',
      'CAIRN_SCHEDULE_CATCH_UP: must be one or none (got "all")',
    ]);
  });

  it('checks the scaling settings: the queue, its lock, the shards, the REST proxy', () => {
    const config = loadConfig({ CAIRN_REDIS_URL: 'redis://:hunter2@redis:6379', CAIRN_QUEUE_LOCK_S: '5', CAIRN_SHARDS: 'auto', CAIRN_REST_PROXY_PORT: '9000' });
    expect(config.queue).toEqual({ redisUrl: 'redis://:hunter2@redis:6379', lockMs: 5_000 });
    expect(config.discord.shards).toBe('auto');
    expect(config.restProxy.port).toBe(9000);
    // The Redis password is scrubbed from logs like any secret.
    expect(secretsOf(config)).toContain('hunter2');
    expect(loadConfig({ CAIRN_SHARDS: '4' }).discord.shards).toBe(4);
    expect(loadConfig({}).discord.shards).toBeNull();
    const problems = problemsOf(() => loadConfig({ CAIRN_REDIS_URL: 'http://:hunter2@redis', CAIRN_QUEUE_LOCK_S: '0', CAIRN_SHARDS: 'many' }));
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith('CAIRN_REDIS_URL'))).toMatch(/redis:\/\/ or rediss:\/\/ URL/);
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems).toContain('CAIRN_QUEUE_LOCK_S: must be at least 1 (got "0")');
    expect(problems.find((p) => p.startsWith('CAIRN_SHARDS'))).toMatch(/auto or a/);
  });

  it('bounds the plan and reflexion limits', () => {
    expect(loadConfig({ CAIRN_REFLEXION_ATTEMPTS: '5', CAIRN_PLAN_REPLANS: '0' }).modes).toEqual({ reflexionAttempts: 5, planReplans: 0 });
    expect(problemsOf(() => loadConfig({ CAIRN_REFLEXION_ATTEMPTS: '0', CAIRN_PLAN_REPLANS: '9' }))).toEqual([
      'CAIRN_REFLEXION_ATTEMPTS: must be at least 1 (got "0")',
      'CAIRN_PLAN_REPLANS: must be at most 5 (got "9")',
    ]);
  });

  it('reports every invalid variable at once, by name, with the bad value', () => {
    const problems = problemsOf(() =>
      loadConfig({ CAIRN_MAX_STEPS: '0', OPENAI_BASE_URL: 'localhost:11434', LOG_LEVEL: 'loud', CAIRN_MAX_COST_USD: 'free', DISCORD_GUILD_ID: 'abc' }),
    );
    expect(problems).toHaveLength(5);
    expect(problems).toContain('CAIRN_MAX_STEPS: must be at least 1 (got "0")');
    expect(problems.find((p) => p.startsWith('OPENAI_BASE_URL'))).toMatch(/http:\/\/ or https:\/\/ URL \(got "localhost:11434"\)/);
    expect(problems.find((p) => p.startsWith('LOG_LEVEL'))).toMatch(/one of fatal, error/);
    expect(problems.find((p) => p.startsWith('CAIRN_MAX_COST_USD'))).toMatch(/must be a number/);
    expect(problems.find((p) => p.startsWith('DISCORD_GUILD_ID'))).toMatch(/snowflake/);
  });

  it('never echoes secret values in its messages', () => {
    const problems = problemsOf(() => loadConfig({ DISCORD_TOKEN: 'tooshort' }));
    expect(problems.join('\n')).toMatch(/DISCORD_TOKEN/);
    expect(problems.join('\n')).not.toContain('tooshort');
  });

  it('needs a key or a base URL to reach a model, and says how to get either', () => {
    const problems = problemsOf(() => loadConfig({}, ['llm']));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/OPENAI_API_KEY: required.*OPENAI_BASE_URL/);
    // A local server needs no key.
    expect(loadConfig({ OPENAI_BASE_URL: 'http://localhost:11434/v1' }, ['llm']).llm.apiKey).toBeUndefined();
  });

  it('needs a token for the bot', () => {
    expect(problemsOf(() => loadConfig({ OPENAI_API_KEY: 'k' }, ['discord']))[0]).toMatch(/^DISCORD_TOKEN: required/);
  });

  it('treats blank values as unset and passes remote LanceDB URIs through', () => {
    const config = loadConfig({ OPENAI_API_KEY: 'k', DISCORD_TOKEN: '  ', CAIRN_MODEL: '', CAIRN_DATA_DIR: 's3://bucket/cairn' });
    expect(config.discord.token).toBeUndefined();
    expect(config.llm.model).toBe('gpt-4o-mini');
    expect(config.dataDir).toBe('s3://bucket/cairn');
  });

  it('the ConfigError message lists the problems and where to fix them', () => {
    try {
      loadConfig({ CAIRN_LLM_MAX_RETRIES: '99' });
    } catch (error) {
      expect((error as Error).message).toMatch(/has a problem:\n {2}- CAIRN_LLM_MAX_RETRIES: must be at most 10 \(got "99"\)\nSet these in your environment or in a \.env file/);
      return;
    }
    throw new Error('expected a ConfigError');
  });
});
