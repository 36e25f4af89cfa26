import type { RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import type { Table } from './db.js';
import { sqlList } from './schema.js';

/**
 * Which memories to evict, tenant by tenant. A tenant is a server (rows with a guild id) or, for
 * rows without one (DMs, the terminal), the user. Each quota only ever takes rows of whoever is over
 * it, so one tenant's writes never evict another's:
 * - a writer over `perUser` in a tenant loses their own rows (lessons last);
 * - a server over `perServer` loses its own least valuable rows;
 * - above `total`, the tenants holding the most rows are cut down towards the next biggest
 *   (water-filling), each losing its own least valuable rows; a smaller tenant never loses one.
 * Scheduled runs write as `schedule-<id>`: their rows are charged to the schedule's creator, so a
 * member cannot multiply their quota with schedules (rows of removed schedules share one pool).
 */

export interface Quotas {
  /** Rows in the whole table. */
  total: number;
  /** Rows of one server. */
  perServer: number;
  /** Rows one writer (a person, with their schedules) keeps in one tenant. */
  perUser: number;
}

export interface EvictionPlan {
  ids: string[];
  byUserQuota: number;
  byServerQuota: number;
  byTotalCap: number;
}

const NOTHING: EvictionPlan = { ids: [], byUserQuota: 0, byServerQuota: 0, byTotalCap: 0 };

/** Evict a little more than needed so a quota is not hit again by the next few inserts. */
const keep = (quota: number) => quota - Math.floor(quota * 0.02);

const SCHEDULE_PREFIX = 'schedule-';
const REMOVED_SCHEDULES = '(removed schedules)';
const NO_USER = '(no user)';

const ScheduleCreators = z.array(z.object({ id: z.string(), creator_id: z.string() }));
const Strings = z.array(z.string().nullable());
const IdStrings = z.array(z.string());

interface Owner {
  tenant: string;
  writer: string;
}

/** Resolves (guild_id, user_id) to a tenant and writer; cached, as few pairs cover many rows. */
class Owners {
  private readonly cache = new Map<string | null, Map<string | null, Owner>>();

  constructor(private readonly creators: ReadonlyMap<string, string>) {}

  of(guildId: string | null, userId: string | null): Owner {
    let byUser = this.cache.get(guildId);
    if (byUser === undefined) this.cache.set(guildId, (byUser = new Map<string | null, Owner>()));
    let owner = byUser.get(userId);
    if (owner === undefined) {
      const writer = this.writerOf(userId);
      owner = { tenant: guildId === null ? `user:${writer}` : `guild:${guildId}`, writer };
      byUser.set(userId, owner);
    }
    return owner;
  }

  private writerOf(userId: string | null): string {
    if (userId === null) return NO_USER;
    if (!userId.startsWith(SCHEDULE_PREFIX)) return userId;
    return this.creators.get(userId.slice(SCHEDULE_PREFIX.length)) ?? REMOVED_SCHEDULES;
  }
}

interface Tenant {
  guildId: string | null;
  /** user_id values of its rows (to find them again when the tenant has no guild id). */
  userIds: Set<string | null>;
  writers: Map<string, number>;
}

function column(batch: RecordBatch, name: string): unknown {
  const child = batch.getChild(name);
  if (child === null) throw new Error(`memories has no ${name} column`);
  return child.toArray();
}

function strings(batch: RecordBatch, name: string): (string | null)[] {
  return Strings.parse(column(batch, name));
}

function numbers(batch: RecordBatch, name: string): ArrayLike<number> {
  const values = column(batch, name);
  if (values instanceof Float64Array || values instanceof Float32Array || values instanceof Int32Array) return values;
  throw new Error(`memories.${name} is not a numeric column`);
}

/**
 * Finds the rows to evict so every quota holds. Counting reads two short columns per row and no
 * row objects; ranking columns are read only for tenants that are over, and only when one is.
 */
export async function planEviction(memories: Table, schedules: Table, quotas: Quotas, now: number): Promise<EvictionPlan> {
  // Nothing can be over a quota while the whole table is within the smallest one.
  if ((await memories.countRows()) <= Math.min(quotas.total, quotas.perServer, quotas.perUser)) return NOTHING;
  const creators = new Map(ScheduleCreators.parse(await schedules.query().select(['id', 'creator_id']).toArray()).map((s) => [s.id, s.creator_id]));
  const owners = new Owners(creators);
  const tenants = await countTenants(memories, owners);
  const { over, totalLimits } = limitsFor(tenants, quotas);
  if (over.size === 0) return NOTHING;
  return chooseVictims(memories, owners, [...over].flatMap((key) => tenants.get(key) ?? []), over, quotas, totalLimits, now);
}

async function countTenants(memories: Table, owners: Owners): Promise<Map<string, Tenant>> {
  // Counted by raw pair first: a few thousand pairs cover hundreds of thousands of rows.
  const pairs = new Map<string | null, Map<string | null, number>>();
  for await (const batch of memories.query().select(['guild_id', 'user_id'])) {
    const guilds = strings(batch, 'guild_id');
    const users = strings(batch, 'user_id');
    for (let i = 0; i < guilds.length; i++) {
      const guildId = guilds[i] ?? null;
      let byUser = pairs.get(guildId);
      if (byUser === undefined) pairs.set(guildId, (byUser = new Map<string | null, number>()));
      const userId = users[i] ?? null;
      byUser.set(userId, (byUser.get(userId) ?? 0) + 1);
    }
  }
  const tenants = new Map<string, Tenant>();
  for (const [guildId, byUser] of pairs) {
    for (const [userId, count] of byUser) {
      const { tenant: key, writer } = owners.of(guildId, userId);
      let tenant = tenants.get(key);
      if (tenant === undefined) tenants.set(key, (tenant = { guildId, userIds: new Set(), writers: new Map() }));
      tenant.userIds.add(userId);
      tenant.writers.set(writer, (tenant.writers.get(writer) ?? 0) + count);
    }
  }
  return tenants;
}

/** Tenants over a quota, and how many rows the total cap leaves each tenant it cuts. */
function limitsFor(tenants: ReadonlyMap<string, Tenant>, quotas: Quotas): { over: Set<string>; totalLimits: Map<string, number> } {
  const over = new Set<string>();
  const sizes = new Map<string, number>();
  for (const [key, tenant] of tenants) {
    let rows = 0;
    let size = 0;
    for (const count of tenant.writers.values()) {
      rows += count;
      size += count > quotas.perUser ? keep(quotas.perUser) : count;
    }
    if (tenant.guildId !== null && size > quotas.perServer) size = keep(quotas.perServer);
    if (size < rows) over.add(key);
    sizes.set(key, size);
  }
  let total = 0;
  for (const size of sizes.values()) total += size;
  const totalLimits = total > quotas.total ? waterFill(sizes, keep(quotas.total)) : new Map<string, number>();
  for (const key of totalLimits.keys()) over.add(key);
  return { over, totalLimits };
}

/**
 * The largest level L with Σ min(size, L) ≤ target; tenants above it keep L rows, so the biggest
 * are cut first and none below the level is touched. Rows the level leaves spare go to the
 * smallest of the cut tenants: of two cut to the same level, the one that had more pays first.
 * Returns the limits of the tenants that are cut.
 */
export function waterFill(sizes: ReadonlyMap<string, number>, target: number): Map<string, number> {
  const keptAt = (level: number) => {
    let sum = 0;
    for (const size of sizes.values()) sum += Math.min(size, level);
    return sum;
  };
  let low = 0;
  let high = 0;
  for (const size of sizes.values()) high = Math.max(high, size);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (keptAt(mid) <= target) low = mid;
    else high = mid - 1;
  }
  const cut = [...sizes].filter(([, size]) => size > low).sort(([ka, a], [kb, b]) => a - b || (ka < kb ? -1 : 1));
  let spare = Math.max(0, target - keptAt(low));
  const limits = new Map<string, number>();
  for (const [key, size] of cut) {
    const limit = low + (spare > 0 ? 1 : 0);
    spare -= 1;
    if (limit < size) limits.set(key, limit);
  }
  return limits;
}

const RANKING = ['id', 'guild_id', 'user_id', 'kind', 'importance', 'access_count', 'last_access_at'];

interface Candidate {
  id: string;
  value: number;
  lesson: boolean;
}

/** The rows of these tenants, or undefined (read everything) when the list would be long. */
function filterFor(tenants: readonly Tenant[]): string | undefined {
  const guilds = tenants.flatMap((t) => (t.guildId === null ? [] : [t.guildId]));
  const users = tenants.flatMap((t) => (t.guildId === null ? [...t.userIds] : []));
  if (guilds.length + users.length > 1_000) return undefined;
  const named = users.filter((u): u is string => u !== null);
  const parts: string[] = [];
  if (guilds.length > 0) parts.push(`guild_id IN ${sqlList(guilds)}`);
  if (named.length > 0) parts.push(`(guild_id IS NULL AND user_id IN ${sqlList(named)})`);
  if (named.length < users.length) parts.push('(guild_id IS NULL AND user_id IS NULL)');
  return parts.join(' OR ');
}

async function chooseVictims(
  memories: Table,
  owners: Owners,
  tenants: readonly Tenant[],
  over: ReadonlySet<string>,
  quotas: Quotas,
  totalLimits: ReadonlyMap<string, number>,
  now: number,
): Promise<EvictionPlan> {
  // Today's ranking: importance, then use, then how recently it was used.
  const value = (importance: number, accessCount: number, lastAccessAt: number) =>
    importance + 0.1 * Math.log1p(accessCount) + 0.5 * 0.5 ** (Math.max(0, now - lastAccessAt) / 86_400_000 / 30);
  const groups = new Map<string, Map<string, Candidate[]>>();
  const filter = filterFor(tenants);
  const query = memories.query().select(RANKING);
  for await (const batch of filter === undefined ? query : query.where(filter)) {
    const ids = IdStrings.parse(column(batch, 'id'));
    const guilds = strings(batch, 'guild_id');
    const users = strings(batch, 'user_id');
    const kinds = strings(batch, 'kind');
    const importance = numbers(batch, 'importance');
    const accessCount = numbers(batch, 'access_count');
    const lastAccessAt = numbers(batch, 'last_access_at');
    for (let i = 0; i < ids.length; i++) {
      const owner = owners.of(guilds[i] ?? null, users[i] ?? null);
      if (!over.has(owner.tenant)) continue;
      let writers = groups.get(owner.tenant);
      if (writers === undefined) groups.set(owner.tenant, (writers = new Map<string, Candidate[]>()));
      let rows = writers.get(owner.writer);
      if (rows === undefined) writers.set(owner.writer, (rows = []));
      const candidate = { id: ids[i] ?? '', lesson: kinds[i] === 'lesson', value: value(importance[i] ?? 0, accessCount[i] ?? 0, lastAccessAt[i] ?? 0) };
      rows.push(candidate);
    }
  }

  const plan: EvictionPlan = { ids: [], byUserQuota: 0, byServerQuota: 0, byTotalCap: 0 };
  const byValue = (a: Candidate, b: Candidate) => a.value - b.value;
  // A writer's lessons go last: what the bot learned is not pushed out by a flood of other rows.
  const lessonsLast = (a: Candidate, b: Candidate) => Number(a.lesson) - Number(b.lesson) || a.value - b.value;
  const evict = (rows: readonly Candidate[], count: number) => {
    for (let i = 0; i < count; i++) plan.ids.push((rows[i] as Candidate).id);
  };
  for (const [key, writers] of groups) {
    const kept: Candidate[] = [];
    for (const rows of writers.values()) {
      const cut = rows.length > quotas.perUser ? rows.length - keep(quotas.perUser) : 0;
      if (cut > 0) {
        rows.sort(lessonsLast);
        evict(rows, cut);
        plan.byUserQuota += cut;
      }
      for (let i = cut; i < rows.length; i++) kept.push(rows[i] as Candidate);
    }
    const serverCut = key.startsWith('guild:') && kept.length > quotas.perServer ? kept.length - keep(quotas.perServer) : 0;
    const cut = Math.max(serverCut, kept.length - (totalLimits.get(key) ?? kept.length));
    if (cut > 0) {
      kept.sort(byValue);
      evict(kept, cut);
      plan.byServerQuota += serverCut;
      plan.byTotalCap += cut - serverCut;
    }
  }
  return plan;
}
