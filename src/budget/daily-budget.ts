import type { SpendKind, SpendLedger } from './ledger.js';

export const DAY_MS = 86_400_000;

/** A share of an account's daily budget held for one run or reflection until it is settled. */
export interface Reservation {
  /** The account held from: a person's id, or a server's account (see `serverAccount`). */
  readonly userId: string;
  /** The most this run may spend: its cost limit. */
  readonly capUsd: number;
  /** Releases the hold and books what was really spent (unknown cost books nothing). Once only. */
  settle(costUsd: number | null, paidFor: { kind: SpendKind; id: string }): void;
}

/**
 * Daily spend per account (UTC days): each person, and each server as a whole. Spend is
 * reserved when a run starts — its cost limit is what is left after every other run in flight
 * has taken its share — and settled when it ends, so concurrent runs can never together spend
 * more than the budget. Settled spend is written to the ledger and read back at start, so a
 * restart forgets nothing. The limit is given per call (it may differ by server); it defaults to
 * `dailyUsd`, each person's budget from the environment.
 */
export class DailyBudget {
  private readonly spent = new Map<string, number>();
  private readonly held = new Map<string, number>();
  /** Spend settled here whose ledger row is not written yet (kept over a re-read of the ledger). */
  private readonly unwritten = new Map<string, number>();
  private day: number;
  private sharing: NodeJS.Timeout | undefined;

  constructor(
    readonly dailyUsd: number,
    private readonly ledger: SpendLedger | null,
    /** Runs a ledger write in the background (memory's tracker: close waits for it, failures are logged). */
    private readonly track: (write: Promise<unknown>, what: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.day = this.today();
  }

  /** Today as a number of UTC days since the epoch. */
  today(): number {
    return Math.floor(this.now() / DAY_MS);
  }

  /** Reads today's spend from the ledger (at start). */
  async load(): Promise<void> {
    if (this.ledger === null) return;
    this.rollOver();
    await this.ledger.prune(this.now());
    for (const [account, usd] of await this.ledger.spentSince(this.day * DAY_MS)) this.spent.set(account, (this.spent.get(account) ?? 0) + usd);
  }

  /**
   * Several processes spend from the same budgets (a queue's workers): today's settled spend is read
   * again from the ledger every `intervalMs`, so what other processes' runs spent counts here
   * within that time. (What their runs in flight hold does not: each process holds its own runs.)
   */
  share(intervalMs: number): void {
    if (this.ledger === null || this.sharing !== undefined) return;
    this.sharing = setInterval(() => {
      this.track(this.reload(), 'reading spend from other processes');
    }, intervalMs);
    this.sharing.unref();
  }

  /** Stops reading other processes' spend. */
  stopSharing(): void {
    clearInterval(this.sharing);
    this.sharing = undefined;
  }

  /** Today's spend as the ledger has it, plus what this process settled and has not written yet. */
  async reload(): Promise<void> {
    if (this.ledger === null) return;
    this.rollOver();
    const day = this.day;
    const totals = await this.ledger.spentSince(day * DAY_MS, { latest: true });
    if (day !== this.day) return;
    this.spent.clear();
    for (const [account, usd] of totals) this.spent.set(account, usd);
    for (const [account, usd] of this.unwritten) this.spent.set(account, (this.spent.get(account) ?? 0) + usd);
  }

  /** A new UTC day starts everyone afresh; holds of runs still going are kept. */
  private rollOver(): void {
    const today = this.today();
    if (today === this.day) return;
    this.day = today;
    this.spent.clear();
  }

  spentToday(account: string): number {
    this.rollOver();
    return this.spent.get(account) ?? 0;
  }

  /** What runs in flight hold of the account's budget now. */
  heldNow(account: string): number {
    return this.held.get(account) ?? 0;
  }

  /** What is left for a new run: the limit less today's spend and what runs in flight hold. */
  remaining(account: string, limitUsd: number = this.dailyUsd): number {
    const left = limitUsd - this.spentToday(account) - this.heldNow(account);
    // Sums of costs carry float noise: a billionth of a dollar left is nothing left.
    return left > 1e-9 ? left : 0;
  }

  /** When the day (and every budget) starts afresh, epoch ms. */
  resetAt(): number {
    return (this.today() + 1) * DAY_MS;
  }

  /** When the day (and the budget) starts afresh, in hours from now, rounded up. */
  resetInHours(): number {
    return Math.ceil((this.resetAt() - this.now()) / 3_600_000);
  }

  /** Holds up to `wantUsd` of what is left under `limitUsd`, or returns null when nothing is left. */
  reserve(account: string, wantUsd: number, limitUsd: number = this.dailyUsd): Reservation | null {
    const capUsd = Math.min(wantUsd, this.remaining(account, limitUsd));
    if (capUsd <= 0) return null;
    this.held.set(account, this.heldNow(account) + capUsd);
    let settled = false;
    return {
      userId: account,
      capUsd,
      settle: (costUsd, paidFor) => {
        if (settled) return;
        settled = true;
        const left = this.heldNow(account) - capUsd;
        if (left > 1e-12) this.held.set(account, left);
        else this.held.delete(account);
        if (costUsd === null || costUsd <= 0) return;
        this.rollOver();
        this.spent.set(account, (this.spent.get(account) ?? 0) + costUsd);
        const at = this.now();
        if (this.ledger === null) return;
        this.unwritten.set(account, (this.unwritten.get(account) ?? 0) + costUsd);
        const written = this.ledger.record({ id: paidFor.id, userId: account, kind: paidFor.kind, usd: costUsd, at }).finally(() => {
          const left = (this.unwritten.get(account) ?? 0) - costUsd;
          if (left > 1e-12) this.unwritten.set(account, left);
          else this.unwritten.delete(account);
        });
        this.track(written, 'recording spend');
      },
    };
  }
}
