/**
 * At most `size` scheduled runs at once in a process; further firings wait their turn, in order.
 * A slot is handed from one run to the next waiting, so nothing can take it in between.
 */
export class RunSlots {
  private readonly waiting: ((granted: boolean) => void)[] = [];
  private active = 0;

  constructor(private readonly size: number) {}

  /** True with a slot; false when the line was closed (the scheduler stopped) while this waited. */
  async acquire(onWait: () => void): Promise<boolean> {
    if (this.active < this.size) {
      this.active += 1;
      return true;
    }
    onWait();
    return new Promise<boolean>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(true);
    else this.active -= 1;
  }

  /** Wakes every waiting firing without a slot: they do not run. */
  close(): void {
    for (const wake of this.waiting.splice(0)) wake(false);
  }
}
