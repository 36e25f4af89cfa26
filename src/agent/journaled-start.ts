import type { IncomingFile } from '../files/types.js';
import type { RunReplay } from './journal.js';
import type { RunMemoryContext } from './memory-port.js';
import { placeFiles, readImages, type RunFiles } from './run-files.js';

/**
 * The files a run starts with: placed in its workspace and recorded, or, for a resumed run, as
 * recorded (the files are in its workspace already; images are read from there again).
 */
export async function journaledFiles(replay: RunReplay, workspaceDir: string, files: readonly IncomingFile[], sees: () => Promise<boolean>): Promise<RunFiles> {
  const recorded = replay.take('files');
  if (recorded !== undefined) return { placed: recorded.placed, images: await readImages(workspaceDir, recorded.images) };
  const given = await placeFiles(workspaceDir, files, files.some((file) => file.kind === 'image') && (await sees()));
  // Written with the recall and the first model reply: one write, not three.
  replay.defer({ kind: 'files', placed: given.placed, images: given.images.map((i) => ({ name: i.name ?? '', mimeType: i.mimeType })) });
  return given;
}

/** What memory gave the run: recalled and recorded, or as recorded (a resumed run recalls nothing again). */
export async function journaledRecall(replay: RunReplay, recall: () => Promise<RunMemoryContext | null>): Promise<RunMemoryContext | null> {
  const recorded = replay.take('memory');
  if (recorded !== undefined) return recorded.context;
  const context = await recall();
  // Written with the first model reply: until then nothing outside depends on it (a process dying
  // before that recalls again).
  replay.defer({ kind: 'memory', context });
  return context;
}
