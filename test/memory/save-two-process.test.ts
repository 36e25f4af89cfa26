import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTempMemory } from './helpers.js';

const mem = useTempMemory();
const WRITER = fileURLToPath(new URL('./save-dedupe-writer.ts', import.meta.url));
const Results = z.array(z.object({ id: z.string(), created: z.boolean() }));
const FACTS = 60;

function runWriter(dir: string, startAt: number): Promise<z.output<typeof Results>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(startAt), String(FACTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(Results.parse(JSON.parse(out.trim())));
      else reject(new Error(`writer exited with ${code}`));
    });
  });
}

describe('saves of the same content from two processes at once', () => {
  it('store each memory once, and both processes get its one id', async () => {
    // Created here first, so the children race on saves only, not on creating tables.
    await (await mem.open()).close();
    const dir = await mem.dir();
    const startAt = Date.now() + 4_000;
    const [a, b] = await Promise.all([runWriter(dir, startAt), runWriter(dir, startAt)]);

    const memory = await mem.open();
    expect(await memory.semantic.count(`scope = 'channel:c-twin'`)).toBe(FACTS);
    expect(a.map((r) => r.id)).toEqual(b.map((r) => r.id));
    // Exactly one of the two created each memory.
    expect(a.map((r, i) => Number(r.created) + Number(b[i]?.created))).toEqual(Array.from({ length: FACTS }, () => 1));
  }, 60_000);
});
