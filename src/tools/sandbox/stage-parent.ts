/**
 * Where stages (staging.ts) are made: one parent directory per bot process in the temp
 * directory, and the clean-up of parents whose process is gone.
 */
import { chmod, lstat, mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errnoCode, removeTree } from './tree.js';

let stageRoot: string | undefined;
let parentQueue: Promise<unknown> = Promise.resolve();
const PARENT_PREFIX = 'cairn-run-code-';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Deletes the stage parents of bot processes that are gone (they died mid-run, or simply
 * exited): what a dead run's code left there would otherwise stay in the temp directory.
 * A reused pid only makes one survive until a later sweep.
 */
async function sweepAbandoned(tmp: string): Promise<void> {
  for (const name of await readdir(tmp).catch(() => [])) {
    const pid = Number(new RegExp(`^${PARENT_PREFIX}(\\d+)-`).exec(name)?.[1] ?? Number.NaN);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    const dir = path.join(tmp, name);
    const info = await lstat(dir).catch(() => undefined);
    // Only our own: in the sticky temp directory nobody else can swap it for something else.
    if (info?.isDirectory() === true && info.uid === process.getuid?.()) await removeTree(dir).catch(() => false);
  }
}

/**
 * The per-process parent of all stages: the bot's (root's), mode 0711, made fresh with mkdtemp (a
 * fixed name in a shared /tmp could be planted by someone else). Made again if a cleaner removed it.
 */
export function stageParent(): Promise<string> {
  // One at a time, so calls starting together share one parent.
  const next = parentQueue.then(ensureStageParent);
  parentQueue = next.catch(() => undefined);
  return next;
}

async function ensureStageParent(): Promise<string> {
  if (stageRoot !== undefined) {
    const info = await lstat(stageRoot).catch(() => undefined);
    if (info?.isDirectory() === true && info.uid === process.getuid?.() && (info.mode & 0o777) === 0o711) return stageRoot;
  } else {
    await sweepAbandoned(os.tmpdir());
  }
  const made = await mkdtemp(path.join(os.tmpdir(), `${PARENT_PREFIX}${process.pid}-`));
  await chmod(made, 0o711);
  stageRoot = made;
  return made;
}
