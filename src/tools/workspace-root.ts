import os from 'node:os';
import path from 'node:path';

/** Where per-run workspaces live: beside the memory database when it is local. */
export function workspaceRootFor(dataDir: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dataDir)
    ? path.join(os.tmpdir(), 'cairn-workspaces')
    : path.join(dataDir, 'workspaces');
}
