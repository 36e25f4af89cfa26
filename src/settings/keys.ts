/**
 * One definition per setting: what it means, where it may be set, how a person's text becomes a
 * value, how a stored value is checked when read back, its process default and how it is shown.
 * Every bound the operator set (steps, budgets, models, approvals) is enforced here: a server may
 * tighten them, never loosen them.
 */
import { z } from 'zod';
import { AGENT_MODES } from '../agent/agent.js';
import type { AgentMode } from '../agent/events.js';
import { clip } from '../text.js';
import type { ApprovalRisk, ScopeKind, SettingKey, SettingsLimits, SettingValues } from './types.js';

export interface KeyDefinition<K extends SettingKey> {
  key: K;
  /** One line, for `/config show key:…` and /help. */
  description: string;
  /** The scopes it may be set at. */
  scopes: readonly ScopeKind[];
  /** The environment variable behind its default, if there is one. */
  env: string | null;
  /** What a person typed → the value; an issue's message is the refusal. */
  input(limits: SettingsLimits): z.ZodType<SettingValues[K], string>;
  /** A stored value (decoded JSON) → the value, within today's limits. */
  stored(limits: SettingsLimits): z.ZodType<SettingValues[K]>;
  defaultValue(limits: SettingsLimits): SettingValues[K];
  show(value: SettingValues[K]): string;
  /** Values to offer while `typed` is being typed (autocomplete); none for free text. */
  suggest?(typed: string, limits: SettingsLimits): string[];
}

export type KeyDefinitions = { [K in SettingKey]: KeyDefinition<K> };

/** The word that clears a value (instructions, disabled tools) or lifts a limit (server budget). */
export const NONE = 'none';
const isNone = (text: string) => text.toLowerCase() === NONE;

const MAX_INSTRUCTIONS = 1_500;
/** Far above any real server's spend; keeps every stored number bounded. */
const MAX_SERVER_BUDGET_USD = 1_000_000;
/** Tool names as the registry accepts them (src/tools/registry.ts). */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_DISABLED_TOOLS = 200;
const ALL_SCOPES = ['guild', 'channel', 'thread'] as const;
const SERVER_ONLY = ['guild'] as const;
// A thread is a conversation inside its channel: whether to answer mentions or open threads is the channel's.
const SERVER_AND_CHANNEL = ['guild', 'channel'] as const;

/** Looser → stricter: `low` asks for approval of every risky call, `none` of none. */
const APPROVAL_RISKS = ['low', 'medium', 'high', 'none'] as const satisfies readonly ApprovalRisk[];
const strictness = (risk: ApprovalRisk) => APPROVAL_RISKS.indexOf(risk);

/** A person's text, trimmed, converted, then checked by `value`. */
const fromText = <T>(convert: (text: string) => unknown, value: z.ZodType<T>): z.ZodType<T, string> => z.string().trim().transform(convert).pipe(value);

/** "2", "2.50" or "$2.50" → a number; anything else is left for the number schema to refuse. */
function numberText(text: string): unknown {
  const plain = text.replace(/^\$\s*/, '');
  return /^-?\d{1,12}(\.\d{1,6})?$/.test(plain) ? Number(plain) : text;
}

const SWITCH: Record<string, boolean> = { on: true, off: false, true: true, false: false, yes: true, no: false };
const switchText = (text: string): unknown => SWITCH[text.toLowerCase()] ?? text;
const onOff = z.boolean({ error: 'must be on or off' });

/** Options containing `typed` (case-insensitive), those starting with it first. */
function matching(options: readonly string[], typed: string): string[] {
  const t = typed.trim().toLowerCase();
  const hits = options.filter((o) => o.toLowerCase().includes(t));
  return [...hits.filter((o) => o.toLowerCase().startsWith(t)), ...hits.filter((o) => !o.toLowerCase().startsWith(t))];
}

const usd = (value: number) => `$${value.toFixed(2)}`;
/** A person's text in a refusal, bounded (the checks that quote it run only on strings). */
const quoted = (text: unknown) => `"${clip(typeof text === 'string' ? text : '', 80)}"`;

const instructionsValue = z
  .string({ error: 'must be text' })
  .min(1, { error: 'must not be empty (use `none` for no instructions)' })
  .superRefine((text, ctx) => {
    if (text.length > MAX_INSTRUCTIONS) ctx.addIssue({ code: 'custom', message: `is ${text.length} characters long; the most is ${MAX_INSTRUCTIONS.toLocaleString('en-US')}` });
    // Slash options are one line; other control characters are never meant (and confuse prompts).
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) ctx.addIssue({ code: 'custom', message: 'must not contain control characters' });
  })
  .nullable();

function modelValue(limits: SettingsLimits): z.ZodType<string> {
  const others = limits.models.filter((m) => m !== limits.model);
  const why =
    others.length === 0
      ? `is not allowed: only ${limits.model} (CAIRN_MODEL) is; whoever runs Cairn can allow more models with CAIRN_MODELS`
      : `is not on the allow-list (${clip(limits.models.join(', '), 300)}); whoever runs Cairn can add models to CAIRN_MODELS`;
  return z.string({ error: 'must be a model id' }).refine((id) => limits.models.includes(id), { error: (issue) => `${quoted(issue.input)} ${why}` });
}

const modeValue = z.custom<AgentMode>((v) => typeof v === 'string' && (AGENT_MODES as readonly string[]).includes(v), {
  error: `must be one of ${AGENT_MODES.join(', ')}`,
});

const maxStepsValue = (limits: SettingsLimits) =>
  z
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(limits.maxSteps, { error: `must be at most ${limits.maxSteps}: the limit whoever runs Cairn set (CAIRN_MAX_STEPS); a server may lower it, never raise it` });

const storedTools = z.array(z.string().regex(TOOL_NAME)).max(MAX_DISABLED_TOOLS);

function toolsInput(limits: SettingsLimits): z.ZodType<readonly string[], string> {
  const known = new Set(limits.toolNames);
  const list = z.array(z.string()).superRefine((names, ctx) => {
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      const available = limits.toolNames.length === 0 ? 'no tools are offered here' : `the tools are: ${clip([...limits.toolNames].sort().join(', '), 400)}`;
      ctx.addIssue({ code: 'custom', message: `${clip(unknown.map((n) => `"${n}"`).join(', '), 200)} ${unknown.length === 1 ? 'is not a tool' : 'are not tools'} here (${available})` });
    }
  });
  const split = (text: string) => (isNone(text) ? [] : [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))]);
  return fromText(split, list);
}

/** Completes the last comma-separated name of a list being typed. */
function suggestTools(typed: string, limits: SettingsLimits): string[] {
  const parts = typed.split(',').map((s) => s.trim());
  const last = parts.pop() ?? '';
  const before = parts.filter((s) => s !== '');
  const names = matching(limits.toolNames.filter((n) => !before.includes(n)), last).map((n) => [...before, n].join(', '));
  return before.length === 0 ? [...matching([NONE], last), ...names] : names;
}

const approvalValue = (limits: SettingsLimits) =>
  z
    .enum(APPROVAL_RISKS, { error: 'must be low, medium, high or none' })
    .refine((risk) => strictness(risk) <= strictness(limits.approvalRisk), {
      error: `may not be looser than ${limits.approvalRisk}, the level whoever runs Cairn set (CAIRN_APPROVAL_RISK); a server may ask for approval more often, never less`,
    });

const userBudgetValue = (limits: SettingsLimits) =>
  z
    .number({ error: 'must be a number of US dollars, e.g. 2.50' })
    .min(0, { error: 'must be 0 or more' })
    .max(limits.userDailyBudgetUsd, {
      error: `must be at most ${usd(limits.userDailyBudgetUsd)}: the limit whoever runs Cairn set (CAIRN_DAILY_BUDGET_USD); a server may lower it, never raise it`,
    });

function serverBudgetValue(limits: SettingsLimits): z.ZodType<number | null> {
  const cap = limits.serverDailyBudgetUsd;
  if (cap === null) {
    return z
      .number({ error: 'must be a number of US dollars, e.g. 20, or none for no server-wide limit' })
      .min(0, { error: 'must be 0 or more' })
      .max(MAX_SERVER_BUDGET_USD, { error: `must be at most ${usd(MAX_SERVER_BUDGET_USD)} (or none)` })
      .nullable();
  }
  const operator = 'the limit whoever runs Cairn set (CAIRN_SERVER_DAILY_BUDGET_USD); a server may lower it, never raise or lift it';
  // The operator limits every server: `none` (null) would lift that limit, so only numbers pass.
  return z
    .number({ error: (issue) => (issue.input === null ? `cannot be none: ${usd(cap)} is ${operator}` : 'must be a number of US dollars, e.g. 20') })
    .min(0, { error: 'must be 0 or more' })
    .max(cap, { error: `must be at most ${usd(cap)}: ${operator}` });
}

export const KEYS: KeyDefinitions = {
  instructions: {
    key: 'instructions',
    description: 'Persona or house rules, given to the model as the operator’s instructions (at most 1,500 characters; never above the safety rules).',
    scopes: ALL_SCOPES,
    env: null,
    input: () => fromText((text) => (isNone(text) ? null : text), instructionsValue),
    stored: () => instructionsValue,
    defaultValue: () => null,
    show: (value) => value ?? NONE,
  },
  model: {
    key: 'model',
    description: 'The chat model, from the allow-list (CAIRN_MODEL and CAIRN_MODELS).',
    scopes: ALL_SCOPES,
    env: 'CAIRN_MODEL',
    // Model ids are case-sensitive on servers: a differently-cased id is taken as the listed one.
    input: (limits) => fromText((text) => limits.models.find((m) => m.toLowerCase() === text.toLowerCase()) ?? text, modelValue(limits)),
    stored: modelValue,
    defaultValue: (limits) => limits.model,
    show: (value) => value,
    suggest: (typed, limits) => matching(limits.models, typed),
  },
  mode: {
    key: 'mode',
    description: `How runs work when they name no mode: ${AGENT_MODES.join(', ')}.`,
    scopes: ALL_SCOPES,
    env: null,
    input: () => fromText((text) => text.toLowerCase(), modeValue),
    stored: () => modeValue,
    defaultValue: () => 'react',
    show: (value) => value,
    suggest: (typed) => matching(AGENT_MODES, typed),
  },
  max_steps: {
    key: 'max_steps',
    description: 'Model calls per run, at most CAIRN_MAX_STEPS.',
    scopes: ALL_SCOPES,
    env: 'CAIRN_MAX_STEPS',
    input: (limits) => fromText(numberText, maxStepsValue(limits)),
    stored: maxStepsValue,
    defaultValue: (limits) => limits.maxSteps,
    show: (value) => String(value),
    suggest: (typed, limits) => matching([String(limits.maxSteps)], typed),
  },
  disabled_tools: {
    key: 'disabled_tools',
    description: 'Tools the model is not offered: comma-separated names, or none.',
    scopes: ALL_SCOPES,
    env: null,
    input: toolsInput,
    // A stored name need not be offered right now: an MCP server that failed to start keeps its tools disabled.
    stored: () => storedTools,
    defaultValue: () => [],
    show: (value) => (value.length === 0 ? NONE : value.join(', ')),
    suggest: suggestTools,
  },
  approval_risk: {
    key: 'approval_risk',
    description: 'Tool calls at or above this risk wait for the starter’s approval: low, medium, high or none (never looser than CAIRN_APPROVAL_RISK).',
    scopes: ALL_SCOPES,
    env: 'CAIRN_APPROVAL_RISK',
    input: (limits) => fromText((text) => text.toLowerCase(), approvalValue(limits)),
    stored: approvalValue,
    defaultValue: (limits) => limits.approvalRisk,
    show: (value) => (value === 'none' ? 'none (no approvals)' : value),
    suggest: (typed, limits) => matching(APPROVAL_RISKS.filter((r) => strictness(r) <= strictness(limits.approvalRisk)), typed),
  },
  user_daily_budget_usd: {
    key: 'user_daily_budget_usd',
    description: 'Each person’s spend per UTC day in US dollars, at most CAIRN_DAILY_BUDGET_USD.',
    scopes: SERVER_ONLY,
    env: 'CAIRN_DAILY_BUDGET_USD',
    input: (limits) => fromText(numberText, userBudgetValue(limits)),
    stored: userBudgetValue,
    defaultValue: (limits) => limits.userDailyBudgetUsd,
    show: usd,
  },
  server_daily_budget_usd: {
    key: 'server_daily_budget_usd',
    description: 'The server’s spend per UTC day in US dollars, everyone together, or none for no server-wide limit.',
    scopes: SERVER_ONLY,
    env: 'CAIRN_SERVER_DAILY_BUDGET_USD',
    input: (limits) => fromText((text) => (isNone(text) ? null : numberText(text)), serverBudgetValue(limits)),
    stored: serverBudgetValue,
    defaultValue: (limits) => limits.serverDailyBudgetUsd,
    show: (value) => (value === null ? 'unlimited' : usd(value)),
  },
  mentions: {
    key: 'mentions',
    description: 'Whether Cairn answers @mentions in the channel: on or off.',
    scopes: SERVER_AND_CHANNEL,
    env: null,
    input: () => fromText(switchText, onOff),
    stored: () => onOff,
    defaultValue: () => true,
    show: (value) => (value ? 'on' : 'off'),
    suggest: (typed) => matching(['on', 'off'], typed),
  },
  threads: {
    key: 'threads',
    description: 'Whether the answer to a mention opens a thread: on or off.',
    scopes: SERVER_AND_CHANNEL,
    env: 'CAIRN_THREADS',
    input: () => fromText(switchText, onOff),
    stored: () => onOff,
    defaultValue: (limits) => limits.threads,
    show: (value) => (value ? 'on' : 'off'),
    suggest: (typed) => matching(['on', 'off'], typed),
  },
};

/** The definition of `key`, typed by it. */
export function definitionOf<K extends SettingKey>(key: K): KeyDefinition<K> {
  return KEYS[key];
}

/** Whether `key` names a setting (keys come from people and from stored rows). */
export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(KEYS, key);
}
