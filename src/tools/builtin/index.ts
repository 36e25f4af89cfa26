import type { Tool } from '../types.js';
import { attachFileTool } from './attach-file.js';
import { readFileTool, resolveFileLimits, type FileToolLimits } from './files.js';
import { listFilesTool } from './list-files.js';
import { currentTimeTool } from './time.js';
import { writeFileTool } from './write-file.js';

export { DEFAULT_FILE_LIMITS, resolveFileLimits, type FileToolLimits } from './files.js';

/** The tools every run gets. Limits not given take their defaults (see DEFAULT_FILE_LIMITS). */
export function builtinTools(options: Partial<FileToolLimits> = {}): Tool[] {
  const limits = resolveFileLimits(options);
  return [currentTimeTool, listFilesTool(limits), readFileTool(limits), writeFileTool(limits), attachFileTool];
}
