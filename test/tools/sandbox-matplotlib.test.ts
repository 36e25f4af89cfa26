/**
 * Charts from run_code: matplotlib (Debian's python3-matplotlib) draws headless in the sandbox,
 * under the default memory and task limits, into the workspace, where attach_file can pick the
 * PNG up. Skipped where the sandbox or matplotlib is missing, except in CI, which installs both.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeToolFor, detectSandbox, runCodeTool } from '../../src/tools/code.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { capturingLogger, tempDir, toolCall, toolContext } from './helpers.js';

const sandbox = await detectSandbox();
const inCi = process.env.CI === 'true';
const hasMatplotlib = sandbox.available && sandbox.packages.includes('matplotlib');

let ws = '';
let cleanup: () => Promise<void> = () => Promise.resolve();
beforeEach(async () => {
  ({ dir: ws, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** Width and height from a PNG's IHDR chunk, which the PNG spec requires to come first. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  // PNG spec (ISO/IEC 15948) 5.2: the 8-byte signature; 11.2.2: IHDR, 13 data bytes, first chunk.
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(bytes.readUInt32BE(8)).toBe(13);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe.runIf(hasMatplotlib || inCi)('run_code draws charts with matplotlib', () => {
  it('finds matplotlib and numpy in the sandbox', () => {
    expect(sandbox).toMatchObject({ available: true, packages: ['numpy', 'matplotlib'] });
  });

  it('tells the model matplotlib is there and how to send a chart', async () => {
    const tool = await codeToolFor('auto', capturingLogger().log);
    expect(tool?.description).toMatch(/Preinstalled: numpy, matplotlib\..*savefig\("chart\.png".*attach_file/s);
  });

  it('saves a bar chart into the workspace as a real PNG, under the default limits', async () => {
    if (!sandbox.available) throw new Error(sandbox.reason);
    const registry = new ToolRegistry([runCodeTool({ helpers: sandbox.helpers, packages: sandbox.packages })], { maxOutputChars: 100_000 });
    const code = [
      'import matplotlib.pyplot as plt',
      'fig, ax = plt.subplots(figsize=(4, 3), dpi=100)',
      'ax.bar(["mon", "tue", "wed"], [3, 5, 2])',
      'ax.set_title("Messages per day")',
      'fig.savefig("chart.png")',
      'print("saved with", plt.get_backend())',
    ].join('\n');
    const outcome = await registry.run(toolCall('run_code', { code }), toolContext(ws));
    expect(outcome.content).toMatch(/^exit status: 0\n--- stdout ---\nsaved with agg\n/i);
    // Its font cache went to the sandbox's /tmp: the workspace holds the chart and nothing else.
    expect(await readdir(ws)).toEqual(['chart.png']);
    const png = await readFile(path.join(ws, 'chart.png'));
    expect(pngSize(png)).toEqual({ width: 400, height: 300 });
    expect(png.length).toBeGreaterThan(1000);
  });
});
