/**
 * Settings per server, channel and thread: what the rest of the app may depend on. A value
 * inherits process default (the environment) → server → channel → thread; the most specific one
 * set wins, and each resolved value says where it came from.
 */
import type { AgentMode } from '../agent/events.js';
import type { RiskLevel } from '../tools/types.js';

/** Tool calls at or above this risk wait for the starter's approval; `none`: no call does. */
export type ApprovalRisk = RiskLevel | 'none';

/** Every setting and the type of its value. */
export interface SettingValues {
  /** The server's persona / house rules, shown to the model as the operator's instructions; null: none. */
  instructions: string | null;
  /** Chat model id, from the allow-list (CAIRN_MODEL, CAIRN_MODELS). */
  model: string;
  /** Mode of runs that do not name one. */
  mode: AgentMode;
  /** Model calls per run, at most the process's CAIRN_MAX_STEPS. */
  max_steps: number;
  /** Tools not offered to the model (names from the tool registry). */
  disabled_tools: readonly string[];
  /** Approval threshold: never looser than the process's CAIRN_APPROVAL_RISK. */
  approval_risk: ApprovalRisk;
  /** Each person's spend per UTC day, at most the process's CAIRN_DAILY_BUDGET_USD. */
  user_daily_budget_usd: number;
  /** The server's spend per UTC day, everyone together; null: no server-wide limit. */
  server_daily_budget_usd: number | null;
  /** Whether Cairn answers @mentions in the channel. */
  mentions: boolean;
  /** Whether a mention's answer opens a thread. */
  threads: boolean;
}

export type SettingKey = keyof SettingValues;

/** In display order (/config show, /help, the key choices). */
export const SETTING_KEYS = [
  'instructions',
  'model',
  'mode',
  'max_steps',
  'disabled_tools',
  'approval_risk',
  'user_daily_budget_usd',
  'server_daily_budget_usd',
  'mentions',
  'threads',
] as const satisfies readonly SettingKey[];

/** Where a value is stored: a server (guild), one of its channels, or a thread. */
export type ScopeKind = 'guild' | 'channel' | 'thread';
export const SCOPE_KINDS = ['guild', 'channel', 'thread'] as const satisfies readonly ScopeKind[];

/** Where a resolved value came from: the environment, or the scope that set it. */
export type SettingSource = 'default' | 'server' | 'channel' | 'thread';

export const SOURCE_OF_SCOPE: Record<ScopeKind, SettingSource> = { guild: 'server', channel: 'channel', thread: 'thread' };

/** A place to resolve settings for. In a DM (guildId null) only the defaults apply. */
export interface SettingsWhere {
  guildId: string | null;
  /** The channel; for a thread, its parent channel. */
  channelId: string | null;
  /** The thread, when the place is one. */
  threadId?: string | null;
}

/** One key's effective value here, where it came from and, when set by someone, who and when. */
export interface ResolvedSetting<K extends SettingKey = SettingKey> {
  key: K;
  value: SettingValues[K];
  source: SettingSource;
  /** Discord user id of whoever set it; null for a default. */
  updatedBy: string | null;
  /** Epoch ms; null for a default. */
  updatedAt: number | null;
}

export type ResolvedSettings = { [K in SettingKey]: ResolvedSetting<K> };

/** What runs, budgets and the conversation handler need: every key's value here, synchronously. */
export interface SettingsReader {
  /** Every key's effective value at `where`, with its source. Synchronous: values are cached. */
  resolve(where: SettingsWhere): ResolvedSettings;
}

/** The process's defaults and limits every setting is checked against (from the configuration). */
export interface SettingsLimits {
  /** CAIRN_MODEL: the default model, always allowed. */
  model: string;
  /** CAIRN_MODEL then CAIRN_MODELS: the allow-list. */
  models: readonly string[];
  /** CAIRN_MAX_STEPS: the most a server may allow. */
  maxSteps: number;
  /** CAIRN_APPROVAL_RISK: the loosest threshold a server may choose. */
  approvalRisk: ApprovalRisk;
  /** CAIRN_DAILY_BUDGET_USD: the most a server may give each person. */
  userDailyBudgetUsd: number;
  /** CAIRN_SERVER_DAILY_BUDGET_USD; null: unlimited unless a server limits itself. */
  serverDailyBudgetUsd: number | null;
  /** CAIRN_THREADS. */
  threads: boolean;
  /** Names of the tools this process offers (disabled_tools must name them). */
  toolNames: readonly string[];
}

/** A plain map of the values, for code that needs no sources. */
export function valuesOf(resolved: ResolvedSettings): SettingValues {
  return {
    instructions: resolved.instructions.value,
    model: resolved.model.value,
    mode: resolved.mode.value,
    max_steps: resolved.max_steps.value,
    disabled_tools: resolved.disabled_tools.value,
    approval_risk: resolved.approval_risk.value,
    user_daily_budget_usd: resolved.user_daily_budget_usd.value,
    server_daily_budget_usd: resolved.server_daily_budget_usd.value,
    mentions: resolved.mentions.value,
    threads: resolved.threads.value,
  };
}
