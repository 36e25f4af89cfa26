import * as agent from './agent.js';
import * as config from './config.js';
import * as help from './help.js';
import * as memory from './memory.js';
import * as runs from './runs.js';
import * as schedule from './schedule.js';
import * as usage from './usage.js';
import type { SlashCommand } from './types.js';

/** Every slash command, registered with Discord and routed by name. */
export const COMMANDS: readonly SlashCommand[] = [agent, schedule, runs, memory, config, usage, help];
