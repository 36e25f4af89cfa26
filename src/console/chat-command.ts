import path from 'node:path';
import { createInterface } from 'node:readline';
import { LOCAL_SCOPE, newRunId } from '../agent/agent.js';
import type { AgentMode } from '../agent/events.js';
import { workspaceRootFor, type App } from '../app.js';
import type { HistoryTurn } from '../conversations/history.js';
import { CAIRN_AUTHOR } from '../conversations/types.js';
import { terminalApprover } from './approver.js';
import { consoleRenderer } from './render.js';

export interface ChatCommandOptions {
  mode: AgentMode;
  maxSteps: number | undefined;
  /** Approve every risky tool call without asking. */
  yes: boolean;
}

/** Characters kept of one turn; the history built from them is fitted to the model's window. */
const MAX_TURN_CHARS = 6_000;

const HELP = 'Type a goal or a question. /reset forgets the conversation, /exit quits. Ctrl-C cancels a running answer.';

function remembered(text: string): string {
  return text.length <= MAX_TURN_CHARS ? text : `${text.slice(0, MAX_TURN_CHARS)}… [shortened]`;
}

/**
 * `cairn chat`: each line is a run of the same agent, with the earlier turns as context and one
 * workspace for the whole session. Works with a terminal or with piped input (one goal a line).
 * The turns are a conversation like a Discord thread's (src/conversations): the oldest condensed
 * first to fit the model's window, the session keeping at most CAIRN_CONVERSATION_MAX_TURNS.
 */
export async function runChatCommand(app: App, options: ChatCommandOptions): Promise<number> {
  const interactive = process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
  const workspaceDir = path.join(workspaceRootFor(app.config.dataDir), `chat-${newRunId()}`);
  const render = consoleRenderer(process.stdout, { summary: 'brief' });
  const turns: HistoryTurn[] = [];
  const you = { id: LOCAL_SCOPE.userId, name: LOCAL_SCOPE.userName ?? 'user' };
  let active: AbortController | null = null;
  // A question takes the next line itself, ahead of the conversation loop.
  const ask = (question: string, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      // readline never calls back for a question whose signal has already fired.
      if (signal.aborted) {
        reject(new Error('no answer'));
        return;
      }
      const onAbort = () => {
        reject(new Error('no answer'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      rl.question(question, { signal }, (answer) => {
        signal.removeEventListener('abort', onAbort);
        resolve(answer);
      });
    });
  const approver = terminalApprover({ yes: options.yes, ask: interactive ? ask : null, notes: process.stderr });

  const interrupt = () => {
    if (active !== null && !active.signal.aborted) {
      process.stderr.write('\nCancelling… \n');
      active.abort();
    } else {
      rl.close();
    }
  };
  rl.on('SIGINT', interrupt);
  if (!interactive) process.on('SIGINT', interrupt);

  process.stdout.write(`Cairn chat · model ${app.agent.modelName} · ${HELP}\n`);
  rl.setPrompt('you › ');
  if (interactive) rl.prompt();
  try {
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        turns.length = 0;
        process.stdout.write('The conversation is forgotten.\n');
      } else if (line === '/help') {
        process.stdout.write(`${HELP}\n`);
      } else if (line.startsWith('/')) {
        process.stdout.write(`Unknown command ${line}. ${HELP}\n`);
      } else if (line !== '') {
        active = new AbortController();
        const prior = await app.conversations.fromTurns('chat', turns, you);
        const result = await app.agent.run({
          goal: line,
          mode: options.mode,
          history: prior.history,
          ...(prior.briefing === null ? {} : { briefing: prior.briefing }),
          signal: active.signal,
          approver,
          sinks: [render],
          workspaceDir,
          ...(options.maxSteps === undefined ? {} : { limits: { maxSteps: options.maxSteps } }),
        });
        active = null;
        turns.push({ role: 'user', authorId: you.id, authorName: you.name, text: remembered(line) });
        turns.push({ role: 'assistant', authorId: CAIRN_AUTHOR, authorName: 'Cairn', text: remembered(result.answer ?? `(no answer: ${result.reason ?? result.status})`) });
        turns.splice(0, Math.max(0, turns.length - app.conversations.limits.maxTurns));
      }
      if (interactive) rl.prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    rl.close();
  }
  return 0;
}
