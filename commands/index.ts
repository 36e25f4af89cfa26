import * as agent from './agent.js';
import * as ask from './ask.js';
import * as config from './config.js';
import * as help from './help.js';
import * as memory from './memory.js';
import * as runs from './runs.js';
import * as schedule from './schedule.js';
import * as usage from './usage.js';
import type { MessageMenuCommand, SlashCommand } from './types.js';

/** Every slash command, registered with Discord and routed by name. */
export const COMMANDS: readonly SlashCommand[] = [agent, schedule, runs, memory, config, usage, help];

/** Message context-menu commands (Apps › …), registered with the slash commands. */
export const MESSAGE_MENUS: readonly MessageMenuCommand[] = [ask];

/** Every command's registration body, slash commands first. */
export function commandBodies(): unknown[] {
  return [...COMMANDS.map((c) => c.data.toJSON()), ...MESSAGE_MENUS.map((c) => c.data.toJSON())];
}
