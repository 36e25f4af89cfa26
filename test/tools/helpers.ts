import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { ToolCall } from '../../src/llm/types.js';
import { silentLogger } from '../../src/log.js';
import type { ToolContext } from '../../src/tools/types.js';

/**
 * A Python program that tries to read each target (a directory's listing, a file's text) and
 * records what it got or the OSError's name in `results`, then prints `printed` (a Python
 * expression; default the results as JSON). For sandbox escape tests.
 */
export function tryEachTargetCode(targets: readonly string[], printed = 'results'): string {
  return [
    'import json, os',
    'results = {}',
    `for target in ${JSON.stringify(targets)}:`,
    '    try:',
    '        results[target] = os.listdir(target) if os.path.isdir(target) else open(target).read()',
    '    except OSError as error:',
    '        results[target] = type(error).__name__',
    `print(json.dumps(${printed}))`,
  ].join('\n');
}

/** A fresh real directory under the OS temp dir; call the returned cleanup when done. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-tools-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function toolContext(workspaceDir: string, overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    runId: 'test-run',
    workspaceDir,
    signal: new AbortController().signal,
    log: silentLogger(),
    ...overrides,
  };
}

let callCounter = 0;

/** A tool call; objects are serialised, strings are sent verbatim (to test malformed JSON). */
export function toolCall(name: string, args: unknown = {}): ToolCall {
  callCounter += 1;
  return { id: `call_${callCounter}`, name, arguments: typeof args === 'string' ? args : JSON.stringify(args) };
}

/** A logger whose parsed JSON lines are collected, for asserting what was logged. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { log, lines };
}
