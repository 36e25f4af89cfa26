/**
 * Settings per server, channel and thread. Every row is loaded at start (they are few) and kept in
 * memory, so `resolve` is synchronous; a write goes to the table first, then to the cache, so the
 * next `resolve` sees it and a restart finds it. A stored row that is no longer valid (a model
 * taken off the allow-list, a limit lowered, a corrupt row) is skipped with a warning: the value
 * it would have set is inherited instead, and the bot keeps running.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Table } from '../memory/db.js';
import { definitionOf, isSettingKey, type KeyDefinition } from './keys.js';
import { settingId, SettingsStore, type BadRow, type SettingRecord } from './store.js';
import {
  SOURCE_OF_SCOPE,
  type ResolvedSetting,
  type ResolvedSettings,
  type ScopeKind,
  type SettingKey,
  type SettingsLimits,
  type SettingsReader,
  type SettingsWhere,
  type SettingValues,
} from './types.js';

/** Overrides one server may store (every key at every channel and thread counts one). */
export const DEFAULT_MAX_ROWS_PER_GUILD = 1_000;

export interface SettingsOptions {
  limits: SettingsLimits;
  log: Logger;
  maxRowsPerGuild?: number;
  now?: () => number;
}

/** Where a value is written: the server itself, or one of its channels or threads. */
export interface SettingScope {
  guildId: string;
  kind: ScopeKind;
  /** The guild id for `guild`, else the channel's or thread's id. */
  id: string;
}

export type SetOutcome<K extends SettingKey = SettingKey> =
  | { ok: true; key: K; value: SettingValues[K]; previous: SettingValues[K] | undefined }
  | { ok: false; key: K; refusal: string };

export interface ResetOutcome<K extends SettingKey = SettingKey> {
  key: K;
  /** The value that was stored at the scope; undefined when nothing was (nothing changed). */
  previous: SettingValues[K] | undefined;
}

export { definitionOf } from './keys.js';

/** The process's defaults and limits, from the configuration and the tools it offers. */
export function settingsLimitsFrom(config: Config, toolNames: readonly string[]): SettingsLimits {
  return {
    model: config.llm.model,
    models: config.llm.models,
    maxSteps: config.limits.maxSteps,
    approvalRisk: config.approvals.minRisk,
    userDailyBudgetUsd: config.discord.dailyBudgetUsd,
    serverDailyBudgetUsd: config.discord.serverDailyBudgetUsd,
    threads: config.discord.threads,
    toolNames: [...toolNames],
  };
}

const SCOPE_WORDS: Record<ScopeKind, string> = { guild: 'a server', channel: 'a channel', thread: 'a thread' };

export class Settings implements SettingsReader {
  /** Valid overrides by row id. Values were checked against their key when cached. */
  readonly #cache = new Map<string, SettingRecord>();
  readonly #rowsPerGuild = new Map<string, number>();
  #skipped: BadRow[] = [];
  readonly #maxRowsPerGuild: number;
  readonly #now: () => number;

  private constructor(
    private readonly store: SettingsStore,
    readonly limits: SettingsLimits,
    private readonly log: Logger,
    options: SettingsOptions,
  ) {
    this.#maxRowsPerGuild = options.maxRowsPerGuild ?? DEFAULT_MAX_ROWS_PER_GUILD;
    this.#now = options.now ?? Date.now;
  }

  /** Loads every stored row from `table` (the `settings` table). */
  static async open(table: Table, options: SettingsOptions): Promise<Settings> {
    const settings = new Settings(new SettingsStore(table), options.limits, options.log, options);
    await settings.reload();
    return settings;
  }

  /** Reads the table again (another process may have written to it). */
  async reload(): Promise<void> {
    // In the write queue, so a reload never drops a write that finished while it read.
    await this.store.serialized(() => this.#load());
  }

  async #load(): Promise<void> {
    const { records, bad } = await this.store.loadAll();
    const skipped = [...bad];
    this.#cache.clear();
    this.#rowsPerGuild.clear();
    for (const record of records) {
      const why = this.#invalid(record);
      if (why === null) this.#remember(record);
      else skipped.push({ id: record.id, guildId: record.guildId, reason: why });
    }
    for (const row of skipped) this.log.warn({ setting: row.id, reason: row.reason }, 'a stored setting is not valid; skipping it (the inherited value applies)');
    this.#skipped = skipped;
  }

  resolve(where: SettingsWhere): ResolvedSettings {
    const chain = this.#chain(where);
    const r = <K extends SettingKey>(key: K): ResolvedSetting<K> => this.#resolveKey(key, chain);
    return {
      instructions: r('instructions'),
      model: r('model'),
      mode: r('mode'),
      max_steps: r('max_steps'),
      disabled_tools: r('disabled_tools'),
      approval_risk: r('approval_risk'),
      user_daily_budget_usd: r('user_daily_budget_usd'),
      server_daily_budget_usd: r('server_daily_budget_usd'),
      mentions: r('mentions'),
      threads: r('threads'),
    };
  }

  /** The value stored exactly at `scope` (not inherited), if any. */
  storedAt<K extends SettingKey>(scope: SettingScope, key: K): ResolvedSetting<K> | undefined {
    const record = this.#cache.get(settingId(scope.kind, scope.id, key));
    return record === undefined || record.guildId !== scope.guildId ? undefined : this.#asResolved(key, record);
  }

  /** Stored rows of this server that were skipped as invalid when loaded, with why. */
  skipped(guildId: string): readonly BadRow[] {
    return this.#skipped.filter((row) => row.guildId === guildId);
  }

  /**
   * Sets `key` at `scope` from what a person typed. A refusal names the setting and why (a bound
   * the operator set, a scope it cannot be set at, the server's row limit); nothing is written then.
   */
  async set<K extends SettingKey>(scope: SettingScope, key: K, text: string, by: string): Promise<SetOutcome<K>> {
    const definition = definitionOf(key);
    const misplaced = this.#scopeRefusal(definition, scope.kind);
    if (misplaced !== null) return { ok: false, key, refusal: misplaced };
    const parsed = definition.input(this.limits).safeParse(text);
    if (!parsed.success) return { ok: false, key, refusal: `\`${key}\` ${parsed.error.issues[0]?.message ?? 'is not valid'}.` };
    const id = settingId(scope.kind, scope.id, key);
    return this.store.serialized(async () => {
      const existing = this.#cache.get(id);
      if (existing === undefined && (this.#rowsPerGuild.get(scope.guildId) ?? 0) >= this.#maxRowsPerGuild) {
        return {
          ok: false,
          key,
          refusal: `\`${key}\` was not saved: this server already has ${this.#maxRowsPerGuild} settings stored for it and its channels and threads, the most allowed. Reset some first.`,
        };
      }
      const record: SettingRecord = { id, guildId: scope.guildId, scopeKind: scope.kind, scopeId: scope.id, key, value: parsed.data, updatedBy: by, updatedAt: this.#now() };
      await this.store.put(record);
      this.#remember(record);
      return { ok: true, key, value: parsed.data, previous: existing === undefined ? undefined : this.#asResolved(key, existing).value };
    });
  }

  /** Removes the value stored at `scope`, so it inherits again. */
  async reset<K extends SettingKey>(scope: SettingScope, key: K): Promise<ResetOutcome<K>> {
    const id = settingId(scope.kind, scope.id, key);
    return this.store.serialized(async () => {
      const existing = this.#cache.get(id);
      if (existing?.guildId !== scope.guildId) return { key, previous: undefined };
      await this.store.remove(id);
      this.#forget(existing);
      return { key, previous: this.#asResolved(key, existing).value };
    });
  }

  /** Why `key` cannot be set at `kind`, or null. */
  #scopeRefusal(definition: KeyDefinition<SettingKey>, kind: ScopeKind): string | null {
    if (definition.scopes.includes(kind)) return null;
    const where = definition.scopes.map((s) => SCOPE_WORDS[s]);
    const list = where.length === 1 ? (where[0] ?? '') : `${where.slice(0, -1).join(', ')} or ${where.at(-1) ?? ''}`;
    return `\`${definition.key}\` can be set for ${list} only, not for ${SCOPE_WORDS[kind]}.`;
  }

  /** The scopes whose rows may apply at `where`, most specific first; none in a DM. */
  #chain(where: SettingsWhere): SettingScope[] {
    const { guildId, channelId, threadId } = where;
    if (guildId === null) return [];
    const chain: SettingScope[] = [];
    if (threadId !== undefined && threadId !== null) chain.push({ guildId, kind: 'thread', id: threadId });
    if (channelId !== null) chain.push({ guildId, kind: 'channel', id: channelId });
    chain.push({ guildId, kind: 'guild', id: guildId });
    return chain;
  }

  #resolveKey<K extends SettingKey>(key: K, chain: readonly SettingScope[]): ResolvedSetting<K> {
    for (const link of chain) {
      const record = this.#cache.get(settingId(link.kind, link.id, key));
      // Ids are global snowflakes; a row of another server is still never applied here.
      if (record !== undefined && record.guildId === link.guildId) return this.#asResolved(key, record);
    }
    return { key, value: definitionOf(key).defaultValue(this.limits), source: 'default', updatedBy: null, updatedAt: null };
  }

  #asResolved<K extends SettingKey>(key: K, record: SettingRecord): ResolvedSetting<K> {
    // The cache holds only values that passed KEYS[record.key].stored (see #invalid and set).
    const value = record.value as SettingValues[K];
    return { key, value, source: SOURCE_OF_SCOPE[record.scopeKind], updatedBy: record.updatedBy, updatedAt: record.updatedAt };
  }

  /** Why a parsed row cannot be used with today's keys and limits, or null; its value is replaced by the checked one. */
  #invalid(record: SettingRecord): string | null {
    if (!isSettingKey(record.key)) return `"${record.key.slice(0, 64)}" is not a setting`;
    const definition: KeyDefinition<SettingKey> = definitionOf(record.key);
    const misplaced = this.#scopeRefusal(definition, record.scopeKind);
    if (misplaced !== null) return misplaced;
    const checked = definition.stored(this.limits).safeParse(record.value);
    if (!checked.success) return `\`${record.key}\` ${checked.error.issues[0]?.message ?? 'is not valid'}`;
    record.value = checked.data;
    return null;
  }

  #remember(record: SettingRecord): void {
    if (!this.#cache.has(record.id)) this.#rowsPerGuild.set(record.guildId, (this.#rowsPerGuild.get(record.guildId) ?? 0) + 1);
    this.#cache.set(record.id, record);
  }

  #forget(record: SettingRecord): void {
    if (!this.#cache.delete(record.id)) return;
    this.#rowsPerGuild.set(record.guildId, Math.max(0, (this.#rowsPerGuild.get(record.guildId) ?? 1) - 1));
  }
}
