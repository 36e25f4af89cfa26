/**
 * Confinement of model-supplied paths to the run's workspace directory.
 *
 * Policy: paths are always relative to the workspace root. Absolute paths are refused even when
 * they happen to point inside the workspace — the model is never told the host path, so an
 * absolute path from it is a guess (often "/etc/..." or "/notes.md") and refusing it with a
 * clear hint is more useful than silently reinterpreting it.
 *
 * Every error thrown here is a WorkspacePathError whose message is safe to show the model: it
 * quotes only what the model wrote or a workspace-relative path, never a host path.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export class WorkspacePathError extends Error {
  override name = 'WorkspacePathError';
}

export interface ResolveOptions {
  /** Throw when the target does not exist (default false: the path may name something to create). */
  mustExist?: boolean;
  /**
   * Resolve a symbolic link at the final component (default true). With false the final
   * component is returned as named, unresolved, so a writer can refuse or replace the link
   * itself instead of writing through it; every parent directory is still resolved and confined.
   */
  followFinalSymlink?: boolean;
}

const MAX_QUOTED_CHARS = 200;

/** The model's own path, quoted and shortened for an error message. */
function quote(userPath: string): string {
  const short = userPath.length > MAX_QUOTED_CHARS ? `${userPath.slice(0, MAX_QUOTED_CHARS)}…` : userPath;
  return JSON.stringify(short);
}

function errnoCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** True when `candidate` is `root` or lies below it (both absolute and normalised). */
function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * A path inside the workspace rendered for messages: relative, with forward slashes, "." for
 * the root. `root` should be the real workspace path (see workspaceRoot). Paths outside are
 * never rendered, so a bug elsewhere cannot leak a host path through this helper.
 */
export function workspaceRelative(root: string, absPath: string): string {
  if (!isInside(root, absPath)) return '(outside the workspace)';
  const rel = path.relative(root, absPath);
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

/** The real (symlink-free) path of the workspace directory, with a clear error if it is missing. */
export async function workspaceRoot(workspaceDir: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(workspaceDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new WorkspacePathError('the workspace directory does not exist (it should be created before the run starts)');
    }
    throw new WorkspacePathError(`the workspace directory is not accessible (${errnoCode(err) ?? 'unknown error'})`);
  }
  if (!(await stat(real)).isDirectory()) throw new WorkspacePathError('the workspace path is not a directory');
  return real;
}

/** lstat that reports "absent" (ENOENT, or ENOTDIR when a parent is a file) as undefined. */
async function lstatIfPresent(p: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new WorkspacePathError(`cannot access this path (${code ?? 'unknown error'})`);
  }
}

/**
 * Resolves a model-supplied path to an absolute real path inside the workspace, or throws a
 * WorkspacePathError. Refuses NUL bytes, absolute paths, ".." escapes and any symbolic link
 * (anywhere in the path) whose target lies outside the workspace or does not exist. Links
 * inside the workspace that point inside it are followed. The empty string means the root.
 */
export async function resolveInWorkspace(
  workspaceDir: string,
  userPath: string,
  options: ResolveOptions = {},
): Promise<string> {
  const { mustExist = false, followFinalSymlink = true } = options;
  if (userPath.includes('\0')) throw new WorkspacePathError(`invalid path ${quote(userPath)}: it contains a NUL byte`);
  if (path.isAbsolute(userPath)) {
    throw new WorkspacePathError(
      `invalid path ${quote(userPath)}: absolute paths are not allowed; use a path relative to your workspace, such as "notes.md" or "data/report.csv"`,
    );
  }
  const root = await workspaceRoot(workspaceDir);
  const lexical = path.resolve(root, userPath); // normalises "." and ".." segments
  if (!isInside(root, lexical)) {
    throw new WorkspacePathError(
      `invalid path ${quote(userPath)}: it points outside your workspace; use a path relative to the workspace root without leading ".." segments`,
    );
  }

  const parts = path.relative(root, lexical).split(path.sep).filter((p) => p !== '');
  // Components resolved through realpath; an unfollowed final component is appended verbatim.
  const resolvable = followFinalSymlink ? parts.length : Math.max(parts.length - 1, 0);

  // Find the deepest existing entry. lstat (not stat) so a dangling link counts as existing
  // and is then caught by realpath below instead of being treated as a file to create.
  let depth = resolvable;
  while (depth > 0 && (await lstatIfPresent(path.join(root, ...parts.slice(0, depth)))) === undefined) depth--;

  let realPrefix: string;
  try {
    realPrefix = await realpath(path.join(root, ...parts.slice(0, depth)));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      throw new WorkspacePathError(`invalid path ${quote(userPath)}: it goes through a symbolic link whose target does not exist`);
    }
    if (code === 'ELOOP') throw new WorkspacePathError(`invalid path ${quote(userPath)}: too many levels of symbolic links`);
    throw new WorkspacePathError(`invalid path ${quote(userPath)}: cannot resolve it (${code ?? 'unknown error'})`);
  }
  if (!isInside(root, realPrefix)) {
    throw new WorkspacePathError(`invalid path ${quote(userPath)}: it leads outside your workspace through a symbolic link`);
  }

  const resolved = path.join(realPrefix, ...parts.slice(depth));
  if (mustExist) {
    const missing = depth < resolvable || (!followFinalSymlink && parts.length > 0 && (await lstatIfPresent(resolved)) === undefined);
    if (missing) throw new WorkspacePathError(`"${workspaceRelative(root, lexical)}" does not exist in your workspace`);
  }
  return resolved;
}
