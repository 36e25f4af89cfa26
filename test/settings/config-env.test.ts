/** The environment behind the settings' defaults and limits: CAIRN_MODELS, CAIRN_SERVER_DAILY_BUDGET_USD, CAIRN_THREADS. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems } from '../config-problems.js';
import { settingsLimitsFrom } from '../../src/settings/service.js';

const problemsOf = configProblems;

describe('settings configuration', () => {
  it('defaults: only CAIRN_MODEL allowed, no server-wide budget, threads off', () => {
    const config = loadConfig({});
    expect(settingsLimitsFrom(config, ['run_code'])).toEqual({
      model: 'gpt-4o-mini',
      models: ['gpt-4o-mini'],
      maxSteps: 20,
      approvalRisk: 'high',
      userDailyBudgetUsd: 5,
      serverDailyBudgetUsd: null,
      threads: false,
      toolNames: ['run_code'],
    });
  });

  it('reads the allow-list (CAIRN_MODEL first, no repeats), the server budget and threads', () => {
    const config = loadConfig({ CAIRN_MODEL: 'llama3.1:8b', CAIRN_MODELS: ' qwen2.5:7b, llama3.1:8b,,openrouter/anthropic/claude-3.5-sonnet ', CAIRN_SERVER_DAILY_BUDGET_USD: '25.5', CAIRN_THREADS: 'on' });
    expect(config.llm.models).toEqual(['llama3.1:8b', 'qwen2.5:7b', 'openrouter/anthropic/claude-3.5-sonnet']);
    expect(config.discord.serverDailyBudgetUsd).toBe(25.5);
    expect(config.discord.threads).toBe(true);
  });

  it('names each bad value', () => {
    expect(problemsOf({ CAIRN_MODELS: 'gpt 4', CAIRN_SERVER_DAILY_BUDGET_USD: '-1', CAIRN_THREADS: 'sometimes' })).toEqual([
      'CAIRN_MODELS: must be a comma-separated list of model ids (no spaces, at most 200 characters each) (got "gpt 4")',
      'CAIRN_SERVER_DAILY_BUDGET_USD: must be 0 or more (got "-1")',
      'CAIRN_THREADS: must be on or off (got "sometimes")',
    ]);
    expect(problemsOf({ CAIRN_MODELS: Array.from({ length: 101 }, (_, i) => `m${i}`).join(',') })[0]).toMatch(/^CAIRN_MODELS: may list at most 100 models/);
  });
});
