import { LOCAL_SCOPE } from '../agent/agent.js';

/** Kept apart from the command itself so that help and usage errors load no database code. */
export const MEMORY_USAGE = `cairn memory <command>
  search "<query>" [--user id] [--channel id] [--guild id] [--kind k] [--limit n] [--json]
                    hybrid recall as a run for that user/channel would see it, with score explanations
  list [--user id] [--channel id] [--guild id] [--kind k] [--limit n] [--json]
  forget <memory id>...         delete memories by id
  forget --user <id> --yes      delete everything kept about a user (memories, blocks, runs, conversation turns)
  export --user <id>            everything kept about a user, as JSON on stdout
  stats [--json]                counts, embedder and index state
  reembed                       re-embed every memory with the current CAIRN_EMBEDDINGS
The terminal's own runs use user id "${LOCAL_SCOPE.userId}".`;

/** Bad `cairn memory` arguments: printed with a hint, exit code 2. */
export class MemoryUsageError extends Error {}

