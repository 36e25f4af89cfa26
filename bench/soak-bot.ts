/**
 * The bot side of bench:soak, in its own process so that its memory is measured apart from the
 * fake Discord and the fake model (which keep every message and request they see). Configured by
 * the environment bench/soak.ts passes; started with --expose-gc.
 *
 * IPC: the parent sends {type: 'sample'}; the bot answers {type: 'sample', rssMb, heapMb, externalMb}
 * — RSS as it is (what an operator sees), then the heap after a full collection (what is live),
 * and each table's fragment count.
 * {type: 'stop'} stops the bot and exits.
 * SOAK_TABLE_UPKEEP=off turns off write-triggered compaction of the small tables.
 */
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { DiscordBot } from '../src/discord/bot.js';
import { silentLogger } from '../src/log.js';
import { tableUpkeep } from '../src/memory/table-upkeep.js';

const collect = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;

const config = loadConfig(process.env, ['llm', 'discord']);
const app = await createApp(config, silentLogger());
// SOAK_TABLE_UPKEEP=off: small tables are compacted only by the 10-minute maintenance timer, as
// before write-triggered upkeep (the "before" arm of an A/B run).
if (process.env.SOAK_TABLE_UPKEEP === 'off') tableUpkeep.configure({ compactEveryCommits: Number.POSITIVE_INFINITY });
const bot = await DiscordBot.start(app);

/** Fragments per table now: a lookup's cost follows them (read through fresh handles, then closed). */
async function fragmentsByTable(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const { connection } = app.memory.db;
  for (const name of await connection.tableNames()) {
    const table = await connection.openTable(name);
    out[name] = (await table.stats()).fragmentStats.numFragments;
    table.close();
  }
  return out;
}

process.on('message', (raw: unknown) => {
  const type = typeof raw === 'object' && raw !== null && 'type' in raw ? raw.type : undefined;
  if (type === 'sample') {
    const rss = process.memoryUsage().rss;
    collect?.();
    const after = process.memoryUsage();
    void fragmentsByTable().then((fragments) => {
      const cache = app.memory.db.cacheUsage();
      process.send?.({ type: 'sample', rssMb: mb(rss), heapMb: mb(after.heapUsed), externalMb: mb(after.external + after.arrayBuffers), cacheMb: mb(cache.bytes), cacheItems: cache.items, fragments });
    });
  } else if (type === 'stop') {
    void bot.stop().then(() => process.exit(0));
  }
});
// The soak's driver went away (killed, crashed): so does the bot.
process.on('disconnect', () => process.exit(1));
process.send?.({ type: 'ready' });
