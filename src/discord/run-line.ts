/**
 * Runs that arrive while every slot (CAIRN_MAX_CONCURRENT_RUNS) is taken wait their turn here,
 * first come first served, instead of being told to come back. The line is bounded: past it,
 * Cairn says it is busy. A shutdown closes it and tells everyone still in it.
 */

/** A place in line: where it is, and the start it waits for. */
export interface QueuedStart<T> {
  readonly queued: true;
  /** 1 for the next run to start. */
  position(): number;
  /** Resolves with what starting gave (a ticket, or why the run may not start after all). */
  readonly ready: Promise<T | string>;
  /** Told each time it moves up the line (not after it has started). */
  onMove(listener: (position: number) => void): void;
}

interface Waiter<T> {
  joinedAt: number;
  start: () => T | string;
  resolve: (value: T | string) => void;
  listeners: ((position: number) => void)[];
}

export class RunLine<T> {
  private readonly waiting: Waiter<T>[] = [];
  private closedWith: string | null = null;

  constructor(readonly maxWaiting: number) {}

  get length(): number {
    return this.waiting.length;
  }

  /** When the first in line joined it (null with nobody waiting). */
  oldestJoinedAt(): number | null {
    return this.waiting[0]?.joinedAt ?? null;
  }

  /** Joins the line; `start` is called when its turn comes. Null when the line is full or closed. */
  join(start: () => T | string): QueuedStart<T> | null {
    if (this.closedWith !== null || this.waiting.length >= this.maxWaiting) return null;
    let resolve: (value: T | string) => void = () => undefined;
    const ready = new Promise<T | string>((done) => {
      resolve = done;
    });
    const waiter: Waiter<T> = { joinedAt: Date.now(), start, resolve, listeners: [] };
    this.waiting.push(waiter);
    return {
      queued: true,
      position: () => this.waiting.indexOf(waiter) + 1,
      ready,
      onMove: (listener) => {
        waiter.listeners.push(listener);
      },
    };
  }

  /** A slot freed: the first in line starts, and the others hear their new place. */
  next(): void {
    const first = this.waiting.shift();
    if (first === undefined) return;
    first.resolve(first.start());
    for (const [index, waiter] of this.waiting.entries()) for (const listener of waiter.listeners) listener(index + 1);
  }

  /** No more waiting: everyone in line gets `reason`, and later joins are refused. */
  close(reason: string): void {
    this.closedWith = reason;
    for (const waiter of this.waiting.splice(0)) waiter.resolve(reason);
  }
}

export function isQueued<T>(value: T | string | QueuedStart<T>): value is QueuedStart<T> {
  return typeof value === 'object' && value !== null && 'queued' in value;
}
