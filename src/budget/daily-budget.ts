import type { SpendKind, SpendLedger } from './ledger.js';

const DAY_MS = 86_400_000;

/** A share of someone's daily budget held for one run or reflection until it is settled. */
export interface Reservation {
  readonly userId: string;
  /** The most this run may spend: its cost limit. */
  readonly capUsd: number;
  /** Releases the hold and books what was really spent (unknown cost books nothing). Once only. */
  settle(costUsd: number | null, paidFor: { kind: SpendKind; id: string }): void;
}

/**
 * Each person's daily spend (UTC days). Spend is reserved when a run starts — its cost limit is
 * what is left after every other run in flight has taken its share — and settled when it ends,
 * so concurrent runs can never together spend more than the budget. Settled spend is written to
 * the ledger and read back at start, so a restart forgets nothing.
 */
export class DailyBudget {
  private readonly spent = new Map<string, number>();
  private readonly held = new Map<string, number>();
  private day: number;

  constructor(
    readonly dailyUsd: number,
    private readonly ledger: SpendLedger | null,
    /** Runs a ledger write in the background (memory's tracker: close waits for it, failures are logged). */
    private readonly track: (write: Promise<unknown>, what: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.day = this.today();
  }

  private today(): number {
    return Math.floor(this.now() / DAY_MS);
  }

  /** Reads today's spend from the ledger (at start). */
  async load(): Promise<void> {
    if (this.ledger === null) return;
    this.rollOver();
    await this.ledger.prune(this.now());
    for (const [userId, usd] of await this.ledger.spentSince(this.day * DAY_MS)) this.spent.set(userId, (this.spent.get(userId) ?? 0) + usd);
  }

  /** A new UTC day starts everyone afresh; holds of runs still going are kept. */
  private rollOver(): void {
    const today = this.today();
    if (today === this.day) return;
    this.day = today;
    this.spent.clear();
  }

  spentToday(userId: string): number {
    this.rollOver();
    return this.spent.get(userId) ?? 0;
  }

  /** What is left for a new run: the budget less today's spend and what runs in flight hold. */
  remaining(userId: string): number {
    return Math.max(0, this.dailyUsd - this.spentToday(userId) - (this.held.get(userId) ?? 0));
  }

  /** When the day (and the budget) starts afresh, in hours from now, rounded up. */
  resetInHours(): number {
    return Math.ceil(((this.today() + 1) * DAY_MS - this.now()) / 3_600_000);
  }

  /** Holds up to `wantUsd` of what is left, or returns null when nothing is left. */
  reserve(userId: string, wantUsd: number): Reservation | null {
    const capUsd = Math.min(wantUsd, this.remaining(userId));
    if (capUsd <= 0) return null;
    this.held.set(userId, (this.held.get(userId) ?? 0) + capUsd);
    let settled = false;
    return {
      userId,
      capUsd,
      settle: (costUsd, paidFor) => {
        if (settled) return;
        settled = true;
        const left = (this.held.get(userId) ?? 0) - capUsd;
        if (left > 1e-12) this.held.set(userId, left);
        else this.held.delete(userId);
        if (costUsd === null || costUsd <= 0) return;
        this.rollOver();
        this.spent.set(userId, (this.spent.get(userId) ?? 0) + costUsd);
        const at = this.now();
        if (this.ledger !== null) this.track(this.ledger.record({ id: paidFor.id, userId, kind: paidFor.kind, usd: costUsd, at }), 'recording spend');
      },
    };
  }
}
