/** Who may use the bot where, and how much: allow-lists, admins, rate limit, daily budget. */

export interface Caller {
  userId: string;
  roleIds: readonly string[];
  /** The channel, or for a thread its parent: allow-lists name channels, not threads. */
  channelId: string;
  inGuild: boolean;
  /** Has the Manage Server permission. */
  canManageGuild: boolean;
}

export interface AccessConfig {
  allowedUsers: readonly string[];
  allowedRoles: readonly string[];
  allowedChannels: readonly string[];
  adminRoles: readonly string[];
}

export class AccessPolicy {
  constructor(private readonly config: AccessConfig) {}

  /** A refusal to show the caller privately, or null when they may go ahead. */
  refusal(caller: Caller): string | null {
    const { allowedUsers, allowedRoles, allowedChannels } = this.config;
    const listsUsers = allowedUsers.length > 0 || allowedRoles.length > 0;
    if (listsUsers && !allowedUsers.includes(caller.userId) && !caller.roleIds.some((r) => allowedRoles.includes(r))) {
      return 'You are not on the list of people who may use Cairn here. Ask a server admin to add you (CAIRN_ALLOWED_USERS or CAIRN_ALLOWED_ROLES).';
    }
    if (allowedChannels.length > 0 && caller.inGuild && !allowedChannels.includes(caller.channelId)) {
      return `Cairn does not work in this channel. It answers in: ${allowedChannels.map((id) => `<#${id}>`).join(', ')}.`;
    }
    return null;
  }

  /** Manage Server, or one of the configured admin roles. */
  isAdmin(caller: Caller): boolean {
    return caller.canManageGuild || caller.roleIds.some((r) => this.config.adminRoles.includes(r));
  }
}

export interface LimitConfig {
  runsPerMinute: number;
  dailyBudgetUsd: number;
  maxConcurrentRuns: number;
}

const DAY_MS = 86_400_000;

/** Per-user rate limit (sliding minute), per-user daily spend, and a cap on concurrent runs. */
export class RunLimiter {
  private readonly starts = new Map<string, number[]>();
  private readonly spend = new Map<string, { day: number; usd: number }>();
  private running = 0;

  constructor(
    private readonly config: LimitConfig,
    private readonly now: () => number = Date.now,
  ) {}

  private today(): number {
    return Math.floor(this.now() / DAY_MS);
  }

  spentToday(userId: string): number {
    const entry = this.spend.get(userId);
    return entry !== undefined && entry.day === this.today() ? entry.usd : 0;
  }

  /** What is left of the user's daily budget, in USD. */
  remainingBudget(userId: string): number {
    return Math.max(0, this.config.dailyBudgetUsd - this.spentToday(userId));
  }

  /** Reserves a run slot, or returns why not (to show privately). */
  tryStart(userId: string): string | null {
    const now = this.now();
    const recent = (this.starts.get(userId) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.config.runsPerMinute) {
      const waitS = Math.ceil((60_000 - (now - (recent[0] ?? now))) / 1000);
      return `Slow down a little: at most ${this.config.runsPerMinute} runs a minute. Try again in ${waitS} s.`;
    }
    if (this.remainingBudget(userId) <= 0) {
      const resetInH = Math.ceil(((this.today() + 1) * DAY_MS - now) / 3_600_000);
      return `You have used your daily budget of $${this.config.dailyBudgetUsd.toFixed(2)}. It resets at 00:00 UTC (in about ${resetInH} h).`;
    }
    if (this.running >= this.config.maxConcurrentRuns) {
      return `Cairn is busy with ${this.running} runs right now. Try again in a minute.`;
    }
    recent.push(now);
    this.starts.set(userId, recent);
    this.running += 1;
    return null;
  }

  /** Releases the slot and books what the run cost (unknown cost books nothing). */
  finish(userId: string, costUsd: number | null): void {
    this.running = Math.max(0, this.running - 1);
    this.addSpend(userId, costUsd ?? 0);
  }

  /** Adds spend recorded before a restart (from today's episodes). */
  addSpend(userId: string, usd: number): void {
    const day = this.today();
    const entry = this.spend.get(userId);
    this.spend.set(userId, { day, usd: (entry !== undefined && entry.day === day ? entry.usd : 0) + usd });
  }
}
