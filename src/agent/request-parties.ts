import type { RunRequest } from './agent.js';
import type { AgentMode } from './events.js';
import type { RunScope, Trigger, Visibility } from './memory-port.js';

/** The scope of runs started from this machine's terminal. */
export const LOCAL_SCOPE: RunScope = { userId: 'local', userName: 'user' };

/** Who and where a request is for, with what it leaves out filled in as every run takes it. */
export function requestParties(request: Pick<RunRequest, 'mode' | 'trigger' | 'scope' | 'visibility' | 'billedTo'>): {
  mode: AgentMode;
  trigger: Trigger;
  scope: RunScope;
  visibility: Visibility;
  billedTo: string;
} {
  const scope = request.scope ?? LOCAL_SCOPE;
  return {
    mode: request.mode ?? 'react',
    trigger: request.trigger ?? 'cli',
    scope,
    visibility: request.visibility ?? (scope.channelId === undefined ? 'private' : 'channel'),
    billedTo: request.billedTo ?? scope.userId,
  };
}
