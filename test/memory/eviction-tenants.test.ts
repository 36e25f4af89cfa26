import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { waterFill } from '../../src/memory/eviction.js';
import type { MaintenanceOptions } from '../../src/memory/maintenance.js';
import type { Memory } from '../../src/memory/memory.js';
import type { MemoryInput, MemoryKind, RunScope } from '../../src/memory/types.js';
import { ScheduleStore, freshSchedule, type Schedule } from '../../src/scheduler/store.js';
import { memoryTools } from '../../src/tools/memory.js';
import { useHarness } from '../agent/harness.js';
import { useTempMemory } from './helpers.js';

const harness = useHarness();
const mem = useTempMemory();

const DAY_MS = 86_400_000;
const NOW = Date.now();

/** A memory whose clock the test sets: old rows are idle, and so less valuable to eviction. */
async function openAt(maintenance: Partial<MaintenanceOptions>) {
  const clock = { now: NOW };
  const memory = await mem.open({ now: () => clock.now, maintenance });
  return { memory, clock };
}

function facts(scope: RunScope, label: string, count: number, importance: number, kind: MemoryKind = 'fact'): MemoryInput[] {
  return Array.from({ length: count }, (_, i) => ({ text: `${label} memory number ${i}`, kind, scope, visibility: 'channel' as const, importance }));
}

const inGuild = async (memory: Memory, guildId: string) => memory.semantic.list(`guild_id = '${guildId}'`, 10_000);

describe('eviction per tenant', () => {
  it("keeps server B's memories when a run in server A saves 25 memories with importance 1 in one step", async () => {
    const { memory, clock } = await openAt({ maxMemories: 20, maxMemoriesPerServer: 15, maxMemoriesPerUser: 12 });
    // Server B's memories are two months old: the least valuable rows in the table by today's ranking.
    clock.now = NOW - 60 * DAY_MS;
    const bea: RunScope = { userId: 'u-bea', channelId: 'c-b', guildId: 'g-b' };
    await memory.semantic.saveMany(facts(bea, 'server B', 10, 0.5));
    clock.now = NOW;

    harness.fake.script(
      {
        kind: 'tool_calls',
        calls: Array.from({ length: 25 }, (_, i) => ({ name: 'memory_save', arguments: { text: `Flood fact ${i}: keep this forever`, importance: 1 } })),
      },
      { kind: 'text', content: 'Saved.' },
    );
    const agent = harness.agent({ extraTools: memoryTools(memory) });
    const result = await agent.run({ goal: 'Remember these', scope: { userId: 'u-ada', userName: 'Ada', channelId: 'c-a', guildId: 'g-a' }, trigger: 'slash' });
    expect(result.status).toBe('succeeded');
    await memory.settled();
    expect((await inGuild(memory, 'g-a')).length).toBeGreaterThan(12);

    await memory.maintenance.idle();
    await memory.maintenance.sweep();
    expect((await inGuild(memory, 'g-b')).map((m) => m.text).sort()).toEqual(facts(bea, 'server B', 10, 0.5).map((m) => m.text).sort());
    // A is cut to its quota (12), then, the table being over 20, down to B's size.
    expect(await inGuild(memory, 'g-a')).toHaveLength(10);
    expect(await memory.semantic.count()).toBe(20);
  });

  it('takes a user over their quota down to it from their own rows (schedules included), lessons last', async () => {
    const { memory, clock } = await openAt({ maxMemories: 1_000, maxMemoriesPerServer: 1_000, maxMemoriesPerUser: 15 });
    const ada: RunScope = { userId: 'u-ada', channelId: 'c-1', guildId: 'g-1' };
    const bob: RunScope = { userId: 'u-bob', channelId: 'c-1', guildId: 'g-1' };
    const bobDm: RunScope = { userId: 'u-bob', channelId: 'dm-bob' };
    const schedule = scheduleOf('abc123', 'u-bob', 'g-1');
    await new ScheduleStore(memory.db.schedules, silentLogger()).add(schedule);
    const bobsSchedule: RunScope = { userId: `schedule-${schedule.id}`, channelId: 'c-1', guildId: 'g-1' };

    clock.now = NOW - 60 * DAY_MS;
    await memory.semantic.saveMany([...facts(ada, 'ada', 5, 0.1), ...facts(bob, 'bob lesson', 3, 0.3, 'lesson'), ...facts(bobDm, 'bob dm', 5, 0.1)]);
    clock.now = NOW;
    await memory.semantic.saveMany([...facts(bob, 'bob flood', 20, 1), ...facts(bobsSchedule, 'bob schedule', 5, 0.5)]);

    await memory.maintenance.sweep();
    const g1 = await inGuild(memory, 'g-1');
    // Ada's rows are the least valuable in the server, yet only Bob was over his quota.
    expect(g1.filter((m) => m.userId === 'u-ada')).toHaveLength(5);
    // Bob's schedule writes on his account: together they keep 15, his lessons first of all.
    const bobs = g1.filter((m) => m.userId === 'u-bob' || m.userId === bobsSchedule.userId);
    expect(bobs).toHaveLength(15);
    expect(bobs.filter((m) => m.kind === 'lesson')).toHaveLength(3);
    expect(bobs.filter((m) => m.userId === bobsSchedule.userId)).toHaveLength(0);
    // His DMs are another tenant, under quota.
    expect(await memory.semantic.list(`guild_id IS NULL AND user_id = 'u-bob'`)).toHaveLength(5);
  });

  it('takes a server over its quota down to it from its own least valuable rows, never another server’s', async () => {
    const { memory, clock } = await openAt({ maxMemories: 1_000, maxMemoriesPerServer: 20, maxMemoriesPerUser: 100 });
    clock.now = NOW - 90 * DAY_MS;
    await memory.semantic.saveMany(facts({ userId: 'u-quiet', channelId: 'c-q', guildId: 'g-quiet' }, 'quiet', 6, 0.05));
    clock.now = NOW;
    const busy = (userId: string, importance: number) => facts({ userId, channelId: 'c-busy', guildId: 'g-busy' }, userId, 8, importance);
    await memory.semantic.saveMany([...busy('u-1', 0.2), ...busy('u-2', 0.9), ...busy('u-3', 0.9), ...busy('u-4', 0.9)]);

    await memory.maintenance.sweep();
    expect(await inGuild(memory, 'g-quiet')).toHaveLength(6);
    const left = await inGuild(memory, 'g-busy');
    expect(left).toHaveLength(20);
    expect(left.filter((m) => m.userId === 'u-1')).toHaveLength(0);
  });

  it('above the total cap, evicts from the biggest tenant only, its least valuable rows first', async () => {
    const { memory, clock } = await openAt({ maxMemories: 40 });
    clock.now = NOW - 90 * DAY_MS;
    await memory.semantic.saveMany([
      ...facts({ userId: 'u-s', channelId: 'c-s', guildId: 'g-small' }, 'small server', 8, 0.05),
      ...facts({ userId: 'u-dm', channelId: 'dm-1' }, 'direct message', 5, 0.05),
    ]);
    clock.now = NOW;
    const big: RunScope = { userId: 'u-big', channelId: 'c-big', guildId: 'g-big' };
    await memory.semantic.saveMany([...facts(big, 'big keeper', 15, 0.9), ...facts(big, 'big filler', 15, 0.3)]);

    await memory.maintenance.sweep();
    expect(await inGuild(memory, 'g-small')).toHaveLength(8);
    expect(await memory.semantic.list(`guild_id IS NULL`)).toHaveLength(5);
    const left = await inGuild(memory, 'g-big');
    expect(left).toHaveLength(27);
    expect(left.filter((m) => m.text.startsWith('big keeper'))).toHaveLength(15);
  });

  it('cuts the biggest tenants to a common level, the bigger one paying for a spare row', () => {
    const limits = waterFill(
      new Map([
        ['guild:a', 20],
        ['guild:b', 15],
        ['user:c', 5],
      ]),
      30,
    );
    expect(Object.fromEntries(limits)).toEqual({ 'guild:a': 12, 'guild:b': 13 });
    expect(Object.fromEntries(waterFill(new Map([['guild:a', 14], ['guild:b', 10]]), 19))).toEqual({ 'guild:a': 9 });
  });
});

describe('memory quota settings', () => {
  it('default to 50,000 rows per server and 5,000 per user, and are checked', () => {
    expect(loadConfig({})).toMatchObject({ memoryMaxRows: 200_000, memoryMaxRowsPerServer: 50_000, memoryMaxRowsPerUser: 5_000 });
    expect(loadConfig({ CAIRN_MEMORY_MAX_ROWS_PER_SERVER: '8000', CAIRN_MEMORY_MAX_ROWS_PER_USER: '800' })).toMatchObject({
      memoryMaxRowsPerServer: 8_000,
      memoryMaxRowsPerUser: 800,
    });
    let problems: string[] = [];
    try {
      loadConfig({ CAIRN_MEMORY_MAX_ROWS_PER_SERVER: '1e9', CAIRN_MEMORY_MAX_ROWS_PER_USER: '12.5' });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toEqual([
      'CAIRN_MEMORY_MAX_ROWS_PER_SERVER: must be at most 100000000 (got "1e9")',
      'CAIRN_MEMORY_MAX_ROWS_PER_USER: must be a whole number (got "12.5")',
    ]);
  });
});

function scheduleOf(id: string, creatorId: string, guildId: string): Schedule {
  return freshSchedule({ id, cron: '0 9 * * *', timeZone: 'UTC', goal: 'Post the news', mode: 'react', guildId, channelId: 'c-1', creatorId, creatorName: null, notify: 'always', createdAt: NOW, nextRunAt: null });
}
