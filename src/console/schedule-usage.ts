/** Kept apart from the command itself so that help and usage errors load no database code. */
export const SCHEDULE_USAGE = `cairn schedule <command>
  add "<goal>" --cron "<expr>" --channel <id> --creator <user id> [--guild <id>] [--timezone <IANA zone>]
      [--notify always|on-change|on-failure] [--mode react|plan|reflexion]
                    (--guild defaults to DISCORD_GUILD_ID; the creator is told when it is paused)
                    run a goal on a cron schedule; reports are posted in the channel by the bot
  list [--json]     every schedule, with its next run and what became of the last one
  remove <id>       delete a schedule
  pause <id>        stop running it until resumed
  resume <id>       run it again (clears its failures and backoff)
  run <id>          run it now, here, to try it: steps and report are printed (not posted); only
                    its last-run time and status are recorded
A running bot picks up changes made here within 30 seconds.`;

/** Bad \`cairn schedule\` arguments: printed with a hint, exit code 2. */
export class ScheduleUsageError extends Error {}
