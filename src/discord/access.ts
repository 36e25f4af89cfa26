/** Who may use the bot where, and how much: allow-lists, admins, rate limits, the daily budgets. */
import { RunLine, type QueuedStart } from './run-line.js';
import { isBudgetRefusal, type BudgetHold, type Budgets, type SpendPlace } from '../budget/budgets.js';
import type { DailyBudget } from '../budget/daily-budget.js';
import { refusalForPerson } from '../budget/refusal-text.js';

export interface Caller {
  userId: string;
  roleIds: readonly string[];
  /** The channel, or for a thread its parent: allow-lists name channels, not threads. */
  channelId: string;
  /** The server the caller acts in; null in DMs. Admin powers reach only this server's runs. */
  guildId: string | null;
  inGuild: boolean;
  /** Has the Manage Server permission (in `guildId`). */
  canManageGuild: boolean;
}

export interface AccessConfig {
  allowedUsers: readonly string[];
  allowedRoles: readonly string[];
  /** Channel ids, and `dm` to let direct messages through once channels are restricted. */
  allowedChannels: readonly string[];
  adminRoles: readonly string[];
}

/** The value in CAIRN_ALLOWED_CHANNELS that admits direct messages. */
export const DM_CHANNEL = 'dm';

export class AccessPolicy {
  constructor(private readonly config: AccessConfig) {}

  /**
   * A refusal to show the caller privately, or null when they may go ahead. Applies to every
   * command, button, modal, reaction and message. In DMs there are no roles, so a role-only
   * allow-list admits nobody there; a channel allow-list admits DMs only when it lists `dm`.
   */
  refusal(caller: Caller): string | null {
    const { allowedUsers, allowedRoles, allowedChannels } = this.config;
    const listsUsers = allowedUsers.length > 0 || allowedRoles.length > 0;
    if (listsUsers && !allowedUsers.includes(caller.userId) && !caller.roleIds.some((r) => allowedRoles.includes(r))) {
      return 'You are not on the list of people who may use Cairn here. Ask a server admin to add you (CAIRN_ALLOWED_USERS or CAIRN_ALLOWED_ROLES).';
    }
    if (allowedChannels.length > 0) {
      if (!caller.inGuild && !allowedChannels.includes(DM_CHANNEL)) return 'Cairn does not answer direct messages here. Use it in a server channel where it works.';
      const channels = allowedChannels.filter((id) => id !== DM_CHANNEL);
      if (caller.inGuild && !channels.includes(caller.channelId)) {
        return channels.length === 0 ? 'Cairn does not work in server channels here; send it a direct message.' : `Cairn does not work in this channel. It answers in: ${channels.map((id) => `<#${id}>`).join(', ')}.`;
      }
    }
    return null;
  }

  /**
   * What `refusal` would need to know about `userId` beyond their id: their roles (a role
   * allow-list that does not name them) and the channel (a channel allow-list).
   */
  needs(userId: string): { roles: boolean; channel: boolean } {
    const { allowedUsers, allowedRoles, allowedChannels } = this.config;
    return { roles: allowedRoles.length > 0 && !allowedUsers.includes(userId), channel: allowedChannels.length > 0 };
  }

  /** Manage Server, or one of the configured admin roles — in the caller's own server only. */
  isAdmin(caller: Caller): boolean {
    if (caller.guildId === null) return false;
    return caller.canManageGuild || caller.roleIds.some((r) => this.config.adminRoles.includes(r));
  }

  /** Whether the caller is an admin of `guildId` (a run's or a memory's server, from storage). */
  isAdminOf(caller: Caller, guildId: string | null | undefined): boolean {
    return guildId !== undefined && guildId !== null && caller.guildId === guildId && this.isAdmin(caller);
  }
}

export interface LimitConfig {
  runsPerMinute: number;
  commandsPerMinute: number;
  maxConcurrentRuns: number;
}

/** A started run's slot: its cost limit, and how to give the slot back when it ends. */
export interface RunTicket {
  /** The run's cost limit: the share of the daily budgets (the user's, the server's) held for it. */
  capUsd: number;
  /** Frees the slot and books the cost to every budget it was held from (once; later calls do nothing). */
  finish(costUsd: number | null, runId: string): void;
}

/** Where a run happens, for the server's budget: nowhere (no server budget) unless given. */
const NOWHERE: Omit<SpendPlace, 'userId'> = { guildId: null, channelId: null };

/** Per-user starts within a sliding minute. */
class SlidingMinute {
  private readonly starts = new Map<string, number[]>();

  constructor(private readonly now: () => number) {}

  /** Seconds to wait when `max` starts already happened this minute; otherwise counts one and returns null. */
  take(userId: string, max: number): number | null {
    const now = this.now();
    const recent = (this.starts.get(userId) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= max) return Math.ceil((60_000 - (now - (recent[0] ?? now))) / 1000);
    recent.push(now);
    this.starts.set(userId, recent);
    // Users with nothing in the last minute are dropped, so the map holds active users only.
    if (this.starts.size > 10_000) for (const [id, times] of this.starts) if (times.every((t) => now - t >= 60_000)) this.starts.delete(id);
    return null;
  }
}

/** Per-user rate limits (runs and commands), the daily budgets held per run, and a cap on concurrent runs. */
export class RunLimiter {
  private readonly runStarts: SlidingMinute;
  private readonly commandStarts: SlidingMinute;
  private running = 0;
  /** Runs waiting for a slot: up to ten times the slots. */
  private readonly line: RunLine<RunTicket>;

  constructor(
    private readonly config: LimitConfig,
    readonly budgets: Budgets,
    now: () => number = Date.now,
  ) {
    this.runStarts = new SlidingMinute(now);
    this.line = new RunLine(10 * config.maxConcurrentRuns);
    this.commandStarts = new SlidingMinute(now);
  }

  /** The accounts behind the budgets (each person's and each server's spend today). */
  get budget(): DailyBudget {
    return this.budgets.daily;
  }

  /** Counts a command, button, modal or reaction; a refusal when the user sends too many. */
  command(userId: string): string | null {
    const waitS = this.commandStarts.take(userId, this.config.commandsPerMinute);
    return waitS === null ? null : `Slow down a little: at most ${this.config.commandsPerMinute} commands a minute. Try again in ${waitS} s.`;
  }

  /** A refusal (to show privately) when the user's daily budget, or their server's, is spent. */
  budgetRefusal(userId: string, where: Omit<SpendPlace, 'userId'> = NOWHERE): string | null {
    const refused = this.budgets.refusal({ userId, guildId: where.guildId });
    return refused === null ? null : refusalForPerson(refused);
  }

  /**
   * Reserves a run slot and up to `maxCostUsd` of the user's daily budget and, in a server, of the
   * server's — or returns why not. Runs in flight hold their share, so concurrent runs cannot
   * together overspend either budget.
   */
  tryStart(userId: string, maxCostUsd: number, where: Omit<SpendPlace, 'userId'> = NOWHERE): RunTicket | string | QueuedStart<RunTicket> {
    const refused = this.admit(userId, where);
    if (refused !== null) return refused;
    const admit = () => {
      // The budget is held when the run starts: it may have been spent while it waited.
      const hold = this.budgets.reserve({ userId, ...where }, maxCostUsd);
      if (isBudgetRefusal(hold)) return refusalForPerson(hold);
      this.running += 1;
      return this.ticket(hold);
    };
    if (this.running < this.config.maxConcurrentRuns && this.line.length === 0) return admit();
    return this.line.join(admit) ?? `Cairn is busy with ${this.running} runs and ${this.line.length} more waiting. Try again in a minute.`;
  }

  /**
   * A run to be queued for a worker (src/queue): the budgets and the per-minute rate are checked
   * here (one is counted), no slot is taken. Returns why not, or null.
   */
  admit(userId: string, where: Omit<SpendPlace, 'userId'> = NOWHERE): string | null {
    const spent = this.budgetRefusal(userId, where);
    if (spent !== null) return spent;
    const waitS = this.runStarts.take(userId, this.config.runsPerMinute);
    return waitS === null ? null : `Slow down a little: at most ${this.config.runsPerMinute} runs a minute. Try again in ${waitS} s.`;
  }

  /** Runs waiting for a slot, and since when the first of them (for /metrics). */
  waiting(): { count: number; oldestSince: number | null } {
    return { count: this.line.length, oldestSince: this.line.oldestJoinedAt() };
  }

  /** Shutdown: those still waiting are told why their run will not start. */
  closeLine(reason: string): void {
    this.line.close(reason);
  }

  /** A slot was given back: the first run in line (if any) takes it. */
  private freed(): void {
    this.running = Math.max(0, this.running - 1);
    if (this.running < this.config.maxConcurrentRuns) this.line.next();
  }

  /**
   * A run admitted before a restart goes on: it takes a slot (never refused: it was running) and
   * holds what is left of its cap in the budgets. With nothing left, its cap is 0 and it stops at
   * its next model call, saying the budget is spent.
   */
  resume(userId: string, maxCostUsd: number, where: Omit<SpendPlace, 'userId'> = NOWHERE): RunTicket {
    this.running += 1;
    const hold = this.budgets.reserve({ userId, ...where }, maxCostUsd);
    if (!isBudgetRefusal(hold)) return this.ticket(hold);
    let finished = false;
    return {
      capUsd: 0,
      finish: () => {
        if (finished) return;
        finished = true;
        this.freed();
      },
    };
  }

  private ticket(hold: BudgetHold): RunTicket {
    let finished = false;
    return {
      capUsd: hold.capUsd,
      finish: (costUsd, runId) => {
        if (finished) return;
        finished = true;
        hold.settle(costUsd, { kind: 'run', id: runId });
        this.freed();
      },
    };
  }
}
