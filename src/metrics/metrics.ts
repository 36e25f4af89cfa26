/**
 * What Cairn measures for operators, in Prometheus' format (prom-client): runs by how they ended
 * and what started them, steps, tokens, estimated cost, model and tool latencies, runs resumed
 * after a restart, runs in flight and the oldest one's age, Discord's 429s, and Node's own
 * metrics (event-loop lag among them). Labels are bounded sets (statuses, triggers, the tools this
 * process offers): never a person, a server or anything a user typed.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunEvent, RunSink } from '../agent/events.js';
import type { RunInfo } from '../agent/memory-port.js';
import type { QueueDepth } from '../queue/run-queue.js';

/** Runs this process is executing (how many, since when the oldest) and runs waiting for a slot. */
export interface InFlight {
  count: number;
  oldestStartedAt: number | null;
  waiting: number;
  oldestWaitingSince: number | null;
}

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class CairnMetrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({ name: 'cairn_runs_total', help: 'Runs ended, by status and what started them.', labelNames: ['status', 'trigger'] as const, registers: [this.registry] });
  private readonly steps = new Counter({ name: 'cairn_run_steps_total', help: 'Model calls made as run steps.', registers: [this.registry] });
  private readonly tokens = new Counter({ name: 'cairn_tokens_total', help: 'Tokens used by runs, prompt and completion.', labelNames: ['kind'] as const, registers: [this.registry] });
  private readonly cost = new Counter({ name: 'cairn_cost_usd_total', help: 'Estimated cost of runs in USD (runs on a model without a price add nothing).', registers: [this.registry] });
  private readonly model = new Histogram({ name: 'cairn_model_call_seconds', help: 'Time from a step starting to the model\u2019s reply.', buckets: SECONDS, registers: [this.registry] });
  private readonly tool = new Histogram({ name: 'cairn_tool_call_seconds', help: 'Tool call durations, by tool and outcome.', labelNames: ['tool', 'outcome'] as const, buckets: SECONDS, registers: [this.registry] });
  private readonly resumed = new Counter({ name: 'cairn_runs_resumed_total', help: 'Runs resumed from their journal after a restart.', registers: [this.registry] });
  private readonly discord429 = new Counter({ name: 'cairn_discord_rest_429_total', help: 'Discord REST responses with status 429.', registers: [this.registry] });
  private readonly discordLimited = new Counter({ name: 'cairn_discord_rate_limited_total', help: 'Requests discord.js held back for a rate limit.', registers: [this.registry] });

  /** The shared run queue's depth (src/queue), where this process can see it; null: no queue. */
  private queueDepth: (() => Promise<QueueDepth>) | null = null;

  /** Runs in flight, as the surface running them counts them (none until one says). */
  private inFlight: () => InFlight = () => ({ count: 0, oldestStartedAt: null, waiting: 0, oldestWaitingSince: null });

  constructor(
    /** The tools runs may call: other names (a model's invention) are counted as "(unknown)". */
    private readonly toolNames: ReadonlySet<string>,
    now: () => number = Date.now,
  ) {
    const inFlight = () => this.inFlight();
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(value());
        },
      });
    const ageOf = (since: number | null) => (since === null ? 0 : Math.max(0, (now() - since) / 1000));
    gauge('cairn_runs_in_flight', 'Runs this process is executing now.', () => inFlight().count);
    gauge('cairn_runs_waiting', 'Runs waiting in line for a slot (CAIRN_MAX_CONCURRENT_RUNS).', () => inFlight().waiting);
    gauge('cairn_run_wait_oldest_seconds', 'How long the first run in line has waited (0 with none).', () => ageOf(inFlight().oldestWaitingSince));
    gauge('cairn_run_oldest_age_seconds', 'Age of the oldest run in flight (0 with none).', () => ageOf(inFlight().oldestStartedAt));
    const depth = () => this.queueDepth?.().catch(() => null) ?? Promise.resolve(null);
    new Gauge({
      name: 'cairn_queue_runs',
      help: 'Runs in the shared queue (CAIRN_REDIS_URL), by state: waiting for a worker, running, delayed.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const now = await depth();
        if (now === null) return;
        this.set({ state: 'waiting' }, now.waiting);
        this.set({ state: 'active' }, now.active);
        this.set({ state: 'delayed' }, now.delayed);
      },
    });
    new Gauge({
      name: 'cairn_queue_oldest_wait_seconds',
      help: 'How long the oldest run waiting in the shared queue has waited (0 with none).',
      registers: [this.registry],
      async collect() {
        const now = await depth();
        if (now !== null) this.set(ageOf(now.oldestWaitingSince));
      },
    });
  }

  /** Where the shared queue's depth is read (a gateway's queue). */
  countQueue(depth: () => Promise<QueueDepth>): void {
    this.queueDepth = depth;
  }

  /** Where runs in flight are counted (the Discord bot's run registry). */
  countInFlight(count: () => InFlight): void {
    this.inFlight = count;
  }

  /** A sink for one run's events; replayed events (a resumed run's past) are not counted again. */
  observe(run: Pick<RunInfo, 'trigger'>): RunSink {
    // Where the model's current call started, in the run's time: the start, or the last tool result or stage.
    let since = 0;
    return (event: RunEvent) => {
      if (event.replayed === true) {
        since = event.elapsedMs;
        return;
      }
      switch (event.type) {
        case 'step':
          this.steps.inc();
          this.model.observe(Math.max(0, event.elapsedMs - since) / 1000);
          since = event.elapsedMs;
          break;
        case 'tool_result': {
          const tool = event.errorKind === 'unknown_tool' || !this.toolNames.has(event.tool) ? '(unknown)' : event.tool;
          this.tool.observe({ tool, outcome: event.ok ? 'ok' : (event.errorKind ?? 'error') }, event.durationMs / 1000);
          since = event.elapsedMs;
          break;
        }
        case 'stage':
        case 'approval':
        case 'started':
          since = event.elapsedMs;
          break;
        case 'resumed':
          this.resumed.inc();
          since = event.elapsedMs;
          break;
        case 'final': {
          const { result } = event;
          this.runs.inc({ status: result.status, trigger: run.trigger });
          this.tokens.inc({ kind: 'prompt' }, result.usage.promptTokens);
          this.tokens.inc({ kind: 'completion' }, result.usage.completionTokens);
          if (result.costUsd !== null) this.cost.inc(result.costUsd);
          break;
        }
        default:
          break;
      }
    };
  }

  /** A Discord REST response (discord.js's `response` event). */
  discordResponse(status: number): void {
    if (status === 429) this.discord429.inc();
  }

  /** discord.js held a request back for a rate limit (its `rateLimited` event). */
  discordRateLimited(): void {
    this.discordLimited.inc();
  }
}
