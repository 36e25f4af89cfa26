import { parseArgs } from 'node:util';
import { AGENT_MODES } from '../agent/agent.js';
import { createScheduler, type App } from '../app.js';
import { ScheduleInputError } from '../scheduler/cron.js';
import { NOTIFY_POLICIES, type Schedule } from '../scheduler/store.js';
import { consoleRenderer } from './render.js';
import { ScheduleUsageError } from './schedule-usage.js';

const print = (text: string) => process.stdout.write(`${text}\n`);
const iso = (ms: number | null) => (ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

function describe(s: Schedule): string {
  const lines = [
    `${s.id}  ${s.status.padEnd(6)}  "${s.cron}" ${s.timeZone}  notify ${s.notify}  mode ${s.mode}  channel ${s.channelId}${s.guildId === null ? '' : ` (guild ${s.guildId})`}`,
    `        goal: ${s.goal.replace(/\s+/g, ' ')}`,
    `        next: ${iso(s.nextRunAt)} UTC   last run: ${iso(s.lastRunAt)} ${s.lastStatus ?? ''}   last delivery: ${iso(s.lastDeliveryAt)}${s.lastDeliveryError === null ? '' : ` (error: ${s.lastDeliveryError})`}`,
  ];
  if (s.pausedReason !== null) lines.push(`        ${s.pausedReason}`);
  else if (s.consecutiveFailures > 0) lines.push(`        ${s.consecutiveFailures} failure(s) in a row; backing off until ${iso(s.backoffUntil)} UTC`);
  return lines.join('\n');
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw new ScheduleUsageError(`--${name} must be one of ${allowed.join(', ')} (got "${value}").`);
  return found;
}

/** `cairn schedule …`: manage schedules in the database the bot reads. Exit codes: 0 ok, 1 failed run or unknown id, 2 bad input. */
export async function runScheduleCommand(app: App, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  // Fires nothing itself: the bot (or a worker) does; `schedule run` runs one here.
  const scheduler = createScheduler(app, null, { sinks: [consoleRenderer(process.stdout)] }, false);
  try {
    switch (sub) {
      case 'add':
        return await add(app, rest, scheduler);
      case 'list': {
        const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
        const all = await scheduler.list(null);
        if (values.json) print(JSON.stringify(all));
        else print(all.length === 0 ? 'No schedules. Add one with: cairn schedule add "<goal>" --cron "0 9 * * *" --channel <id>' : all.map(describe).join('\n'));
        return 0;
      }
      case 'remove':
      case 'pause':
      case 'resume':
      case 'run': {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const id = positionals[0]?.trim().toLowerCase();
        if (id === undefined || positionals.length !== 1) throw new ScheduleUsageError(`cairn schedule ${sub} needs exactly one schedule id.`);
        if ((await scheduler.get(id)) === undefined) {
          process.stderr.write(`cairn: there is no schedule ${id} ("cairn schedule list" shows them).\n`);
          return 1;
        }
        if (sub === 'remove') {
          await scheduler.remove(id);
          print(`Removed schedule ${id}.`);
        } else if (sub === 'pause') {
          await scheduler.pause(id);
          print(`Paused schedule ${id}.`);
        } else if (sub === 'resume') {
          const resumed = await scheduler.resume(id);
          print(`Resumed schedule ${id}; next run ${iso(resumed?.nextRunAt ?? null)} UTC.`);
        } else {
          const fired = await scheduler.fire(id, 'manual');
          if (!fired.started) {
            process.stderr.write(`cairn: schedule ${id} was not run: ${fired.why}.\n`);
            return 1;
          }
          const execution = await fired.done;
          return execution?.result.status === 'succeeded' ? 0 : 1;
        }
        return 0;
      }
      default:
        throw new ScheduleUsageError(sub === undefined ? 'cairn schedule needs a command.' : `Unknown schedule command "${sub}".`);
    }
  } finally {
    await scheduler.settled();
    await scheduler.close();
  }
}

async function add(app: App, args: string[], scheduler: ReturnType<typeof createScheduler>): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      cron: { type: 'string' },
      channel: { type: 'string' },
      guild: { type: 'string' },
      timezone: { type: 'string' },
      notify: { type: 'string' },
      mode: { type: 'string' },
      creator: { type: 'string' },
    },
  });
  const goal = positionals.join(' ').trim();
  if (goal === '') throw new ScheduleUsageError('cairn schedule add needs a goal, e.g. cairn schedule add "Summarise the status page" --cron "0 9 * * *" --channel 123');
  if (values.cron === undefined) throw new ScheduleUsageError('cairn schedule add needs --cron "<expression>", e.g. --cron "0 9 * * 1-5".');
  const snowflake = /^\d{17,20}$/;
  if (values.channel === undefined || !snowflake.test(values.channel)) {
    throw new ScheduleUsageError('cairn schedule add needs --channel <id>: the Discord channel id (17–20 digits) where reports are posted.');
  }
  const guild = values.guild ?? app.config.discord.guildId;
  if (guild === undefined || !snowflake.test(guild)) {
    throw new ScheduleUsageError('cairn schedule add needs --guild <id> (or DISCORD_GUILD_ID): the server the channel is in, so /schedule can manage it there.');
  }
  if (values.creator === undefined || !snowflake.test(values.creator)) {
    throw new ScheduleUsageError('cairn schedule add needs --creator <user id>: the Discord user told when the schedule is paused.');
  }
  try {
    const { schedule, nextRuns } = await scheduler.add({
      cron: values.cron,
      timeZone: values.timezone ?? 'UTC',
      goal,
      mode: oneOf('mode', values.mode, AGENT_MODES, 'react'),
      guildId: guild,
      channelId: values.channel,
      creatorId: values.creator,
      creatorName: null,
      notify: oneOf('notify', values.notify, NOTIFY_POLICIES, 'always'),
    });
    print(`Added schedule ${schedule.id}: "${schedule.cron}" (${schedule.timeZone}), notify ${schedule.notify}, channel ${schedule.channelId}.`);
    print(`Next runs: ${nextRuns.map((d) => `${d.toISOString()} (${d.toLocaleString('en-GB', { timeZone: schedule.timeZone })} ${schedule.timeZone})`).join(', ')}`);
    return 0;
  } catch (error) {
    if (error instanceof ScheduleInputError) throw new ScheduleUsageError(error.message);
    throw error;
  }
}
