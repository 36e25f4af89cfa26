/**
 * Each setting's validation of what a person types, against the process's limits: a server may
 * tighten every limit the operator set, never loosen one, and every refusal says whose limit it is.
 */
import { describe, expect, it } from 'vitest';
import { KEYS } from '../../src/settings/keys.js';
import type { SettingKey, SettingsLimits, SettingValues } from '../../src/settings/types.js';
import { LIMITS } from './helpers.js';

function parse<K extends SettingKey>(key: K, text: string, limits: SettingsLimits = LIMITS): { ok: true; value: SettingValues[K] } | { ok: false; error: string } {
  const result = KEYS[key].input(limits).safeParse(text);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: result.error.issues[0]?.message ?? '' };
}

const value = <K extends SettingKey>(key: K, text: string, limits?: SettingsLimits) => {
  const result = parse(key, text, limits);
  if (!result.ok) throw new Error(`${key} "${text}" was refused: ${result.error}`);
  return result.value;
};
const refusal = (key: SettingKey, text: string, limits?: SettingsLimits) => {
  const result = parse(key, text, limits);
  if (result.ok) throw new Error(`${key} "${text}" was accepted as ${JSON.stringify(result.value)}`);
  return result.error;
};

describe('setting keys', () => {
  it('instructions: trimmed, at most 1,500 characters, none clears', () => {
    expect(value('instructions', '  Answer in French, briefly.  ')).toBe('Answer in French, briefly.');
    expect(value('instructions', 'x'.repeat(1_500))).toHaveLength(1_500);
    expect(refusal('instructions', 'x'.repeat(1_501))).toBe('is 1501 characters long; the most is 1,500');
    expect(refusal('instructions', '   ')).toBe('must not be empty (use `none` for no instructions)');
    expect(refusal('instructions', 'be nice\u0007')).toBe('must not contain control characters');
    expect(value('instructions', 'None')).toBeNull();
    expect(KEYS.instructions.defaultValue(LIMITS)).toBeNull();
  });

  it('model: only from the allow-list, and the refusal says who can add one', () => {
    expect(value('model', 'llama3.1:8b')).toBe('llama3.1:8b');
    // Ids are case-sensitive on servers: the listed spelling is the one stored.
    expect(value('model', 'LLAMA3.1:8B')).toBe('llama3.1:8b');
    expect(refusal('model', 'gpt-5')).toBe('"gpt-5" is not on the allow-list (gpt-4o-mini, llama3.1:8b); whoever runs Cairn can add models to CAIRN_MODELS');
    const onlyDefault = { ...LIMITS, models: ['gpt-4o-mini'] };
    expect(refusal('model', 'llama3.1:8b', onlyDefault)).toBe('"llama3.1:8b" is not allowed: only gpt-4o-mini (CAIRN_MODEL) is; whoever runs Cairn can allow more models with CAIRN_MODELS');
    expect(KEYS.model.suggest?.('ll', LIMITS)).toEqual(['llama3.1:8b']);
    expect(KEYS.model.suggest?.('', LIMITS)).toEqual(['gpt-4o-mini', 'llama3.1:8b']);
  });

  it('mode, mentions and threads: fixed words', () => {
    expect(value('mode', 'PLAN')).toBe('plan');
    expect(refusal('mode', 'fast')).toBe('must be one of react, plan, reflexion');
    expect(value('mentions', 'off')).toBe(false);
    expect(value('threads', 'On')).toBe(true);
    expect(refusal('threads', 'maybe')).toBe('must be on or off');
    expect(KEYS.threads.defaultValue({ ...LIMITS, threads: true })).toBe(true);
    expect(KEYS.mentions.defaultValue(LIMITS)).toBe(true);
  });

  it('max_steps: a whole number a server may lower, never raise past CAIRN_MAX_STEPS', () => {
    expect(value('max_steps', ' 12 ')).toBe(12);
    expect(value('max_steps', '20')).toBe(20);
    expect(refusal('max_steps', '21')).toBe('must be at most 20: the limit whoever runs Cairn set (CAIRN_MAX_STEPS); a server may lower it, never raise it');
    expect(refusal('max_steps', '0')).toBe('must be at least 1');
    expect(refusal('max_steps', '-3')).toBe('must be at least 1');
    expect(refusal('max_steps', '2.5')).toBe('must be a whole number');
    expect(refusal('max_steps', 'ten')).toBe('must be a whole number');
    expect(refusal('max_steps', '1'.repeat(400))).toBe('must be a whole number');
  });

  it('disabled_tools: names of tools this process offers, or none', () => {
    expect(value('disabled_tools', 'run_code, http_get,run_code')).toEqual(['run_code', 'http_get']);
    expect(value('disabled_tools', 'none')).toEqual([]);
    expect(refusal('disabled_tools', 'run_code, shell')).toBe('"shell" is not a tool here (the tools are: http_get, http_request, memory_save, run_code)');
    // A stored name need not be offered now (an MCP server that failed to start stays disabled).
    expect(KEYS.disabled_tools.stored(LIMITS).safeParse(['mcp_fs_write']).success).toBe(true);
    expect(KEYS.disabled_tools.suggest?.('http_get, r', LIMITS)).toEqual(['http_get, run_code', 'http_get, http_request', 'http_get, memory_save']);
    expect(KEYS.disabled_tools.suggest?.('', LIMITS)[0]).toBe('none');
  });

  it('approval_risk: stricter than the operator’s level, never looser', () => {
    expect(value('approval_risk', 'low')).toBe('low');
    expect(value('approval_risk', 'HIGH')).toBe('high');
    expect(refusal('approval_risk', 'none')).toBe(
      'may not be looser than high, the level whoever runs Cairn set (CAIRN_APPROVAL_RISK); a server may ask for approval more often, never less',
    );
    expect(refusal('approval_risk', 'high', { ...LIMITS, approvalRisk: 'medium' })).toMatch(/^may not be looser than medium/);
    expect(value('approval_risk', 'none', { ...LIMITS, approvalRisk: 'none' })).toBe('none');
    expect(KEYS.approval_risk.suggest?.('', { ...LIMITS, approvalRisk: 'medium' })).toEqual(['low', 'medium']);
  });

  it('budgets: a server may lower them, never raise or lift the operator’s', () => {
    expect(value('user_daily_budget_usd', '$2.50')).toBe(2.5);
    expect(value('user_daily_budget_usd', '0')).toBe(0);
    expect(refusal('user_daily_budget_usd', '6')).toBe('must be at most $5.00: the limit whoever runs Cairn set (CAIRN_DAILY_BUDGET_USD); a server may lower it, never raise it');
    expect(refusal('user_daily_budget_usd', '-1')).toBe('must be 0 or more');
    expect(refusal('user_daily_budget_usd', 'lots')).toBe('must be a number of US dollars, e.g. 2.50');
    expect(value('server_daily_budget_usd', '20')).toBe(20);
    expect(value('server_daily_budget_usd', 'none')).toBeNull();
    expect(refusal('server_daily_budget_usd', '2000000')).toBe('must be at most $1000000.00 (or none)');
    const capped = { ...LIMITS, serverDailyBudgetUsd: 10 };
    expect(value('server_daily_budget_usd', '4', capped)).toBe(4);
    expect(refusal('server_daily_budget_usd', '20', capped)).toBe(
      'must be at most $10.00: the limit whoever runs Cairn set (CAIRN_SERVER_DAILY_BUDGET_USD); a server may lower it, never raise or lift it',
    );
    expect(refusal('server_daily_budget_usd', 'none', capped)).toMatch(/^cannot be none: \$10\.00 is the limit whoever runs Cairn set/);
    expect(KEYS.server_daily_budget_usd.defaultValue(LIMITS)).toBeNull();
    expect(KEYS.server_daily_budget_usd.scopes).toEqual(['guild']);
  });

  it('stored values are checked against today’s limits too', () => {
    expect(KEYS.max_steps.stored(LIMITS).safeParse(50).success).toBe(false);
    expect(KEYS.model.stored(LIMITS).safeParse('gpt-5').success).toBe(false);
    expect(KEYS.user_daily_budget_usd.stored(LIMITS).safeParse(Number.POSITIVE_INFINITY).success).toBe(false);
    expect(KEYS.mentions.stored(LIMITS).safeParse('on').success).toBe(false);
  });
});
