import { Field, Float64, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Table } from '../../src/memory/db.js';
import { GroupCommitter } from '../../src/memory/group-commit.js';
import { useTempMemory } from './helpers.js';

const mem = useTempMemory();
const schema = new Schema([new Field('id', new Utf8(), false), new Field('text', new Utf8(), false), new Field('n', new Float64(), false)]);

/** The table, counting the reads made through it (everything else goes through unchanged). */
function counted(table: Table): { table: Table; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(table, {
    get(target, property) {
      if (property === 'query') {
        return () => {
          reads += 1;
          return target.query();
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { table: proxy, reads: () => reads };
}

async function rowsOf(table: Table): Promise<{ id: string; text: string; n: number }[]> {
  const rows = (await table.query().toArray()) as { toJSON(): { id: string; text: string; n: number } }[];
  return rows.map((row) => row.toJSON()).sort((a, b) => (a.id < b.id ? -1 : 1));
}

describe('group commit', () => {
  it('commits concurrent puts in one upsert that reads nothing back; a later put under a key replaces its row', async () => {
    const memory = await mem.open();
    const real = await memory.db.table('group_commit_probe', schema);
    const { table, reads } = counted(real);
    const writer = new GroupCommitter(table, 'id');
    await Promise.all(['a', 'b', 'c'].map((id, n) => writer.put(id, { id, text: `first ${id}`, n })));
    await writer.put('b', { id: 'b', text: 'second b', n: 9 });
    expect(reads()).toBe(0);
    expect(await rowsOf(real)).toEqual([
      { id: 'a', text: 'first a', n: 0 },
      { id: 'b', text: 'second b', n: 9 },
      { id: 'c', text: 'first c', n: 2 },
    ]);
  });

  it('reads the stored rows for changes that need them, in the same commit as puts, in order', async () => {
    const memory = await mem.open();
    const real = await memory.db.table('group_commit_probe', schema);
    const { table, reads } = counted(real);
    const writer = new GroupCommitter(table, 'id');
    await writer.put('a', { id: 'a', text: 'one', n: 1 });
    const bump = (current: Record<string, unknown> | undefined) => ({ id: 'a', text: 'bumped', n: Number(current?.n ?? 0) + 1 });
    // Queued in one tick: one commit, reading only the key a change depends on.
    await Promise.all([writer.apply('a', bump), writer.put('z', { id: 'z', text: 'put', n: 0 }), writer.apply('a', bump)]);
    expect(reads()).toBe(1);
    expect(await rowsOf(real)).toEqual([
      { id: 'a', text: 'bumped', n: 3 },
      { id: 'z', text: 'put', n: 0 },
    ]);
  });
});
