/**
 * attach_file: hands a file of the run's workspace to the surface, which posts it with the answer
 * (Discord: as attachments; the terminal: prints where it is). The path is confined to the
 * workspace like every file tool's; it must name a regular file that exists now.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { sanitiseFileName } from '../../files/names.js';
import { defineTool } from '../define.js';
import type { Tool } from '../types.js';
import { resolveInWorkspace, workspaceRelative, workspaceRoot } from '../workspace.js';
import { describeFsError, formatBytes } from './files.js';

/** Larger files are not attached: surfaces cannot post them (Discord's own cap is lower still for most servers). */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

export const attachFileTool: Tool = defineTool({
  name: 'attach_file',
  description:
    'Attach a file from your workspace to your answer, so the user receives it: a chart you drew, a CSV or report you wrote. ' +
    'Write the file first (write_file, or run_code for images such as matplotlib charts saved as PNG), then attach it by its path relative to your workspace. ' +
    `At most 10 files per run, each up to ${formatBytes(MAX_ATTACHMENT_BYTES)}. Mention the attached files in your final answer.`,
  input: z.strictObject({
    path: z.string().min(1).max(1_000).describe('The file\'s path relative to your workspace, e.g. "chart.png" or "out/report.csv".'),
    name: z.string().min(1).max(200).optional().describe('The name the user sees (default: the file\'s own name).'),
  }),
  risk: 'low',
  // Attaching the same path again keeps its place and name.
  idempotent: true,
  async run(args, context) {
    if (context.attach === undefined) throw new Error('files cannot be attached here: this surface has no way to send them; mention the path in your answer instead');
    const root = await workspaceRoot(context.workspaceDir);
    const target = await resolveInWorkspace(context.workspaceDir, args.path, { mustExist: true });
    const rel = workspaceRelative(root, target);
    if (target === root) throw new Error('the path names the workspace directory itself; give a file path such as "chart.png"');
    let stats;
    try {
      stats = await stat(target);
    } catch (err) {
      throw new Error(`cannot attach "${rel}": ${describeFsError(err)}`, { cause: err });
    }
    if (stats.isDirectory()) throw new Error(`"${rel}" is a directory; attach the files in it one by one, or pack them into one file first`);
    if (!stats.isFile()) throw new Error(`"${rel}" is not a regular file`);
    if (stats.size > MAX_ATTACHMENT_BYTES) throw new Error(`"${rel}" is ${formatBytes(stats.size)}, over the ${formatBytes(MAX_ATTACHMENT_BYTES)} an attachment may be; make it smaller first`);
    // The intake's own rule for names people see: one safe segment, never empty.
    const name = sanitiseFileName(args.name ?? path.basename(rel));
    const result = context.attach({ name, path: rel, bytes: stats.size });
    if (result.already) return `"${rel}" was already attached as ${result.name} (${result.count} of at most ${result.max} attached).`;
    return `Attached "${rel}" as ${result.name} (${formatBytes(stats.size)}); it will be sent with your answer (${result.count} of at most ${result.max} attached).`;
  },
});
