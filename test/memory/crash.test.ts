import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempMemory } from './helpers.js';

const mem = useTempMemory();
const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

describe('a crash mid-write', () => {
  it('loses nothing that was acknowledged, and leaves a database that opens', async () => {
    const dir = await mem.dir();
    const acknowledged: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        acknowledged.push(...lines.filter((l) => l !== ''));
        // Killed without warning while it is in the middle of further writes.
        if (acknowledged.length >= 40 && !child.killed) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('exit', () => {
        resolve();
      });
    });
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);

    const memory = await mem.open();
    const stored = new Set((await memory.semantic.list(`scope = 'channel:c-crash'`, 100_000)).map((m) => m.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});
