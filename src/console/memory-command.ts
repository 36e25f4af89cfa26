import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { LOCAL_SCOPE } from '../agent/agent.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { openMemory } from '../app.js';
import type { Memory } from '../memory/memory.js';
import { reembed } from '../memory/reembed.js';
import { sqlList } from '../memory/schema.js';
import { MemoryUsageError } from './memory-usage.js';
import { MEMORY_KINDS, readableScopes, type MemoryKind, type MemoryRecord, type RunScope } from '../memory/types.js';

const scopeOptions = {
  user: { type: 'string' },
  channel: { type: 'string' },
  guild: { type: 'string' },
  kind: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

interface ScopeValues {
  user?: string | undefined;
  channel?: string | undefined;
  guild?: string | undefined;
  kind?: string | undefined;
  limit?: string | undefined;
}

function scopeFrom(values: ScopeValues): RunScope {
  return {
    userId: values.user ?? LOCAL_SCOPE.userId,
    ...(values.channel === undefined ? {} : { channelId: values.channel }),
    ...(values.guild === undefined ? {} : { guildId: values.guild }),
  };
}

function kindsFrom(values: ScopeValues): MemoryKind[] | undefined {
  if (values.kind === undefined) return undefined;
  const kind = MEMORY_KINDS.find((k) => k === values.kind);
  if (kind === undefined) throw new MemoryUsageError(`--kind must be one of ${MEMORY_KINDS.join(', ')} (got "${values.kind}").`);
  return [kind];
}

function limitFrom(values: ScopeValues, fallback: number): number {
  if (values.limit === undefined) return fallback;
  const n = Number(values.limit);
  if (!Number.isInteger(n) || n < 1 || n > 1_000) throw new MemoryUsageError(`--limit must be a whole number from 1 to 1000 (got "${values.limit}").`);
  return n;
}

function line(m: MemoryRecord): string {
  const who = m.speaker === null ? '' : `${m.speaker}: `;
  return `${m.id}  ${m.kind.padEnd(6)}  ${new Date(m.createdAt).toISOString().slice(0, 16).replace('T', ' ')}  ${m.scopeKey}  ${who}${m.text.replace(/\s+/g, ' ')}`;
}

const print = (text: string) => process.stdout.write(`${text}\n`);

async function withMemory<T>(config: Config, log: Logger, anyEmbedder: boolean, use: (memory: Memory) => Promise<T>): Promise<T> {
  const memory = await openMemory(config, log, { anyEmbedder });
  try {
    return await use(memory);
  } finally {
    await memory.close();
  }
}

/** `cairn memory ...`: search, list, forget, export, stats, reembed. Returns the exit code. */
export async function runMemoryCommand(args: string[], config: Config, log: Logger): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'search': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: scopeOptions });
      const query = positionals.join(' ').trim();
      if (query === '') throw new MemoryUsageError('cairn memory search needs a query.');
      const kinds = kindsFrom(values);
      const hits = await withMemory(config, log, false, (memory) =>
        memory.semantic.recall({ query, scopes: readableScopes(scopeFrom(values)), limit: limitFrom(values, 10), ...(kinds === undefined ? {} : { kinds }) }),
      );
      if (values.json) print(JSON.stringify(hits));
      else if (hits.length === 0) print('No memories match.');
      else {
        for (const { memory: m, explanation: e } of hits) {
          print(line(m));
          const vector = e.vectorRank === null ? 'vector —' : `vector #${e.vectorRank} (cos ${e.similarity?.toFixed(3)})`;
          const text = e.textRank === null ? 'text —' : `text #${e.textRank} (bm25 ${e.bm25?.toFixed(2)})`;
          print(`    score ${e.final.toFixed(4)} = rrf ${e.fused.toFixed(4)} × boost ${e.boost.toFixed(2)} · ${vector} · ${text}`);
        }
      }
      return 0;
    }
    case 'list': {
      const { values } = parseArgs({ args: rest, options: scopeOptions });
      const kinds = kindsFrom(values);
      const where = `scope IN ${sqlList(readableScopes(scopeFrom(values)))}${kinds === undefined ? '' : ` AND kind IN ${sqlList(kinds)}`}`;
      const rows = await withMemory(config, log, true, (memory) => memory.semantic.list(where, limitFrom(values, 50)));
      if (values.json) print(JSON.stringify(rows));
      else print(rows.length === 0 ? 'No memories.' : rows.map(line).join('\n'));
      return 0;
    }
    case 'forget': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { user: { type: 'string' }, yes: { type: 'boolean', default: false } } });
      if (values.user !== undefined) {
        if (!values.yes) throw new MemoryUsageError(`This deletes everything kept about user ${values.user} and cannot be undone. Add --yes to confirm.`);
        const userId = values.user;
        const counts = await withMemory(config, log, true, (memory) => memory.forgetUser(userId));
        print(`Forgot user ${userId}: ${counts.memories} memories, ${counts.workingBlocks} working blocks, ${counts.episodes} runs, ${counts.conversationTurns} conversation turns.`);
        return 0;
      }
      if (positionals.length === 0) throw new MemoryUsageError('cairn memory forget needs memory ids, or --user <id> --yes.');
      const removed = await withMemory(config, log, true, (memory) => memory.semantic.forget(positionals));
      print(`Forgot ${removed} of ${positionals.length} memories.`);
      return removed === positionals.length ? 0 : 1;
    }
    case 'export': {
      const { values } = parseArgs({ args: rest, options: { user: { type: 'string' } } });
      const userId = values.user;
      if (userId === undefined) throw new MemoryUsageError('cairn memory export needs --user <id>.');
      // Streamed record by record (no size limit here): the text is what JSON.stringify(export, null, 2) gives.
      await withMemory(config, log, true, async (memory) => {
        for await (const piece of memory.exportUserJson(userId)) {
          if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
        }
      });
      print('');
      return 0;
    }
    case 'stats': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
      const stats = await withMemory(config, log, true, (memory) => memory.stats());
      if (values.json) print(JSON.stringify(stats));
      else {
        print(`database:   ${stats.uri}`);
        print(`embedder:   ${stats.embedder.id} (${stats.embedder.dimensions} dimensions)`);
        print(`memories:   ${stats.memories} (${MEMORY_KINDS.map((k) => `${k} ${stats.byKind[k]}`).join(', ')})`);
        print(`working:    ${stats.workingBlocks} blocks`);
        print(`runs:       ${stats.episodes}`);
        for (const index of stats.indexes) print(`index:      ${index.name} (${index.type}): ${index.indexedRows} indexed, ${index.unindexedRows} not yet`);
      }
      return 0;
    }
    case 'reembed': {
      const result = await withMemory(config, log, true, async (memory) => {
        if (memory.db.embedderMatches) return null;
        return reembed(memory, ({ done, total }) => process.stderr.write(`\rre-embedding ${done}/${total}…`));
      });
      if (result === null) print(`Nothing to do: memories already use ${config.embeddings}.`);
      else print(`\nRe-embedded ${result.memories} memories: ${result.from} → ${result.to}.`);
      return 0;
    }
    default:
      throw new MemoryUsageError(sub === undefined ? 'cairn memory needs a command.' : `Unknown memory command "${sub}".`);
  }
}
