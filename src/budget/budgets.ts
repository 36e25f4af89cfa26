import type { DailyBudget, Reservation } from './daily-budget.js';
import type { SpendKind } from './ledger.js';
import { envBudgetLimits, serverAccount, type BudgetLimits } from './limits.js';
import { WarnedServers } from './warned-servers.js';

/** Who pays for a run or reflection, and where it happens. */
export interface SpendPlace {
  /** The person who pays (a scheduled run's creator, the voter behind a reflection). */
  userId: string;
  /** The server it belongs to; null in DMs and the terminal, where no server budget applies. */
  guildId: string | null;
  /** Where it was asked for (a thread's parent channel): where the server's 80% notice goes; null: nowhere. */
  channelId: string | null;
}

/** Why a run may not start: whose budget is spent, how far, and when it starts afresh. */
export interface BudgetRefusal {
  budget: 'user' | 'server';
  /** The server whose budget is spent, or where the person's budget was checked; null in DMs. */
  guildId: string | null;
  limitUsd: number;
  /** Settled spend today. */
  spentUsd: number;
  /** Held by runs still going. */
  heldUsd: number;
  /** When every budget starts afresh (00:00 UTC), epoch ms. */
  resetAt: number;
  resetInHours: number;
}

/** A run's share of every budget it is held to (its payer's, and its server's). */
export interface BudgetHold {
  /** The run's cost limit: what is left of the tighter budget, at most what was asked. */
  capUsd: number;
  /** Releases the holds and books the cost to each account (once; later calls do nothing). */
  settle(costUsd: number | null, paidFor: { kind: SpendKind; id: string }): void;
}

/** A server's settled spend reached 80% of its daily budget today (told once per server per day). */
export interface ServerBudgetWarning {
  guildId: string;
  /** The channel of the run that crossed the mark (a schedule's channel for scheduled runs). */
  channelId: string;
  spentUsd: number;
  limitUsd: number;
  resetAt: number;
  resetInHours: number;
}

/** One budget's state today; `limitUsd` null means unlimited. */
export interface BudgetStanding {
  limitUsd: number | null;
  spentUsd: number;
  heldUsd: number;
}

/** Share of a server's daily budget whose spending is announced to its admins. */
export const WARN_SHARE = 0.8;

export function isBudgetRefusal(value: BudgetHold | BudgetRefusal): value is BudgetRefusal {
  return 'budget' in value;
}

/**
 * Every daily budget a run is held to: its payer's (one account across servers, with the limit of
 * the server the run is in) and, in a server, the server's as a whole. Both are accounts of one
 * DailyBudget (servers keyed `guild:<id>`), reserved together in one synchronous step, so
 * concurrent runs can never together pass either. Server spend is counted even without a limit,
 * so a limit set during the day applies to that day's spend.
 */
export class Budgets {
  /**
   * Told once per server per UTC day when a settled run or reflection brings the server's spend to
   * 80% of its budget; the Discord bot posts it. Keeps the budget core free of Discord.
   */
  onServerWarning: ((warning: ServerBudgetWarning) => Promise<void> | void) | undefined;

  constructor(
    readonly daily: DailyBudget,
    /** The environment's defaults, until per-server settings are connected (`setLimits`). */
    private limits: BudgetLimits = envBudgetLimits({ dailyBudgetUsd: daily.dailyUsd, serverDailyBudgetUsd: null }),
    private readonly warned: WarnedServers = new WarnedServers(null, () => undefined),
    /** Background work (the notice): failures are logged, and close waits for it. */
    private readonly track: (work: Promise<unknown>, what: string) => void = () => undefined,
  ) {}

  /**
   * Where per-server settings connect (they open after the budgets): every later reservation,
   * refusal and notice uses these limits. Runs in flight keep the share they hold.
   */
  setLimits(limits: BudgetLimits): void {
    this.limits = limits;
  }

  /** Reads today's spend and notices (at start). */
  async load(): Promise<void> {
    await this.daily.load();
    await this.warned.load(this.daily.today());
  }

  /** Why a run paid by `place.userId` in `place.guildId` may not start now, or null. */
  refusal(place: Pick<SpendPlace, 'userId' | 'guildId'>): BudgetRefusal | null {
    const userLimit = this.limits.userDailyUsd(place.guildId);
    if (this.daily.remaining(place.userId, userLimit) <= 0) return this.refused('user', place.userId, userLimit, place.guildId);
    const serverLimit = place.guildId === null ? null : this.limits.serverDailyUsd(place.guildId);
    if (place.guildId !== null && serverLimit !== null && this.daily.remaining(serverAccount(place.guildId), serverLimit) <= 0) {
      return this.refused('server', serverAccount(place.guildId), serverLimit, place.guildId);
    }
    return null;
  }

  /** Holds up to `wantUsd` from every budget the run is held to, or says which one is spent. */
  reserve(place: SpendPlace, wantUsd: number): BudgetHold | BudgetRefusal {
    const refused = this.refusal(place);
    if (refused !== null) return refused;
    const { userId, guildId } = place;
    const account = guildId === null ? null : serverAccount(guildId);
    const userLimit = this.limits.userDailyUsd(guildId);
    // Unlimited servers are held too (with no ceiling), so their spend is known if a limit is set later.
    const serverLimit = this.limits.serverDailyUsd(guildId) ?? Number.POSITIVE_INFINITY;
    // The tighter budget sets the cap; both hold the same amount, taken before anything else runs.
    const capUsd = Math.min(wantUsd, this.daily.remaining(userId, userLimit), account === null ? Number.POSITIVE_INFINITY : this.daily.remaining(account, serverLimit));
    const user = capUsd > 0 ? this.daily.reserve(userId, capUsd, userLimit) : null;
    if (user === null) return this.refused('user', userId, userLimit, guildId);
    const server = account === null ? null : this.daily.reserve(account, capUsd, serverLimit);
    return this.hold(place, user, server);
  }

  /** Each budget that applies here, for `/usage`: spent, held and the limit. */
  standing(userId: string, guildId: string | null): { user: BudgetStanding; server: BudgetStanding | null; resetAt: number; resetInHours: number } {
    const account = guildId === null ? null : serverAccount(guildId);
    return {
      user: { limitUsd: this.limits.userDailyUsd(guildId), spentUsd: this.daily.spentToday(userId), heldUsd: this.daily.heldNow(userId) },
      server: account === null ? null : { limitUsd: this.limits.serverDailyUsd(guildId), spentUsd: this.daily.spentToday(account), heldUsd: this.daily.heldNow(account) },
      resetAt: this.daily.resetAt(),
      resetInHours: this.daily.resetInHours(),
    };
  }

  private refused(budget: BudgetRefusal['budget'], account: string, limitUsd: number, guildId: string | null): BudgetRefusal {
    return {
      budget,
      guildId,
      limitUsd,
      spentUsd: this.daily.spentToday(account),
      heldUsd: this.daily.heldNow(account),
      resetAt: this.daily.resetAt(),
      resetInHours: this.daily.resetInHours(),
    };
  }

  private hold(place: SpendPlace, user: Reservation, server: Reservation | null): BudgetHold {
    let settled = false;
    return {
      capUsd: user.capUsd,
      settle: (costUsd, paidFor) => {
        if (settled) return;
        settled = true;
        user.settle(costUsd, paidFor);
        if (server === null) return;
        server.settle(costUsd, paidFor);
        if (costUsd !== null && costUsd > 0) this.warnIfNearlySpent(place);
      },
    };
  }

  /** Tells the server's admins, once per UTC day, that 80% of its budget is spent. */
  private warnIfNearlySpent(place: SpendPlace): void {
    const { guildId, channelId } = place;
    const notify = this.onServerWarning;
    if (guildId === null || channelId === null || notify === undefined) return;
    const limitUsd = this.limits.serverDailyUsd(guildId);
    // A zero budget stops every run: there is nothing to warn about.
    if (limitUsd === null || limitUsd <= 0) return;
    const spentUsd = this.daily.spentToday(serverAccount(guildId));
    if (spentUsd + 1e-9 < WARN_SHARE * limitUsd || !this.warned.claim(guildId, this.daily.today())) return;
    const warning: ServerBudgetWarning = { guildId, channelId, spentUsd, limitUsd, resetAt: this.daily.resetAt(), resetInHours: this.daily.resetInHours() };
    this.track(
      Promise.resolve().then(() => notify(warning)),
      'telling a server that its budget is nearly spent',
    );
  }
}
