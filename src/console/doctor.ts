/**
 * `cairn doctor`: checks the configured setup and prints one row per check with a fix for each
 * problem. Independent checks run at once, each with its own short deadline, so a healthy local
 * setup is diagnosed in a few seconds and a dead server costs one deadline, not the sum of them.
 * Exit code 0 only when no check failed (the bot can run).
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { dataDirCheck, discordChecks, sandboxCheck, webSearchCheck } from './doctor-checks.js';
import { contextWindowCheck, embeddingsCheck, modelServerChecks } from './doctor-model.js';
import { visionCheck } from './doctor-vision.js';
import { canRun, renderJson, renderTable, runChecks, type CheckResult, type DoctorCheck } from './doctor-report.js';

export { bounded, canRun, renderJson, renderTable, type CheckResult, type CheckStatus, type DoctorCheck } from './doctor-report.js';

export interface DoctorOptions {
  /**
   * More checks, reported after the model rows (before embeddings): for checks owned by other
   * modules, each wrapped in `bounded(...)` from doctor-report.ts for its own deadline.
   */
  extraChecks?: readonly DoctorCheck[];
}

/** Every check for this configuration, in the order the rows are printed. */
export function doctorChecks(config: Config, log: Logger, options: DoctorOptions = {}): DoctorCheck[] {
  return [
    () => modelServerChecks(config, log),
    () => contextWindowCheck(config, log),
    ...(options.extraChecks ?? []),
    () => visionCheck(config, log),
    () => embeddingsCheck(config, log),
    () => discordChecks(config),
    () => sandboxCheck(config),
    () => dataDirCheck(config),
    () => webSearchCheck(config),
  ];
}

export function runDoctor(config: Config, log: Logger, options: DoctorOptions = {}): Promise<CheckResult[]> {
  return runChecks(doctorChecks(config, log, options));
}

/** Prints the report (a table, or one JSON object with --json); returns the exit code. */
export async function runDoctorCommand(config: Config, log: Logger, options: DoctorOptions & { json: boolean }): Promise<number> {
  const results = await runDoctor(config, log, options);
  process.stdout.write(`${options.json ? renderJson(results) : renderTable(results)}\n`);
  return canRun(results) ? 0 : 1;
}
