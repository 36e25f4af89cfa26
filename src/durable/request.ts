/**
 * What a durable run was asked, kept so that another process (or this one after a restart) can
 * ask the agent again: the serialisable part of a RunRequest. Callbacks (sinks, the approver,
 * the signal) belong to the surface that resumes it; files are in the run's journal and workspace;
 * the model is kept by id and looked up again in the operator's list.
 */
import { z } from 'zod';
import type { RunRequest } from '../agent/agent.js';
import { requestParties } from '../agent/request-parties.js';
import { TRIGGERS } from '../memory/episodes.js';

const id = z.string().min(1).max(200);
/** A goal, instructions or a briefing: /agent takes 2,000 characters, settings and briefings more. */
const longText = z.string().max(100_000);

const image = z.object({ mimeType: z.string(), data: z.string(), name: z.string().optional() });
const chatMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: longText }),
  z.object({ role: z.literal('user'), content: longText, images: z.array(image).optional() }),
  z.object({ role: z.literal('assistant'), content: longText.nullable(), toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })).optional() }),
  z.object({ role: z.literal('tool'), toolCallId: z.string(), content: longText }),
]);

export const StoredRunRequest = z.object({
  runId: id,
  goal: longText.min(1),
  mode: z.enum(['react', 'plan', 'reflexion']),
  trigger: z.enum(TRIGGERS),
  scope: z.object({ userId: id, userName: z.string().max(200).optional(), channelId: id.optional(), guildId: id.optional() }),
  visibility: z.enum(['private', 'channel', 'guild']),
  billedTo: id,
  briefing: longText.nullable(),
  instructions: longText.nullable(),
  /** The model of the place's settings; null: the default model. */
  modelId: z.string().max(200).nullable(),
  disabledTools: z.array(z.string().max(200)).max(500),
  approvals: z.object({ minRisk: z.enum(['low', 'medium', 'high', 'none']).optional(), timeoutMs: z.number().int().positive().optional() }),
  limits: z.object({
    maxSteps: z.number().int().positive().optional(),
    maxTokens: z.number().positive().optional(),
    maxCostUsd: z.number().nonnegative().optional(),
    maxDurationMs: z.number().positive().optional(),
  }),
  history: z.array(chatMessage).max(1_000),
  historyFromOthers: z.array(z.number().int().nonnegative()).max(1_000),
});
export type StoredRunRequest = z.output<typeof StoredRunRequest>;

/** The stored form of a request (its model given by id). */
export function storedRequest(request: RunRequest & { runId: string }, modelId: string | null): StoredRunRequest {
  return StoredRunRequest.parse({
    runId: request.runId,
    goal: request.goal,
    // As the run takes them: resumed, it is asked for the same.
    ...requestParties(request),
    briefing: request.briefing ?? null,
    instructions: request.instructions ?? null,
    modelId,
    disabledTools: request.disabledTools ?? [],
    approvals: request.approvals ?? {},
    limits: request.limits ?? {},
    history: request.history ?? [],
    historyFromOthers: request.historyFromOthers ?? [],
  });
}

/** The request again, without what only a live surface has (sinks, signal, approver, model object). */
export function requestFrom(stored: StoredRunRequest): RunRequest & { runId: string } {
  return {
    runId: stored.runId,
    goal: stored.goal,
    mode: stored.mode,
    trigger: stored.trigger,
    scope: stored.scope,
    visibility: stored.visibility,
    billedTo: stored.billedTo,
    ...(stored.briefing === null ? {} : { briefing: stored.briefing }),
    ...(stored.instructions === null ? {} : { instructions: stored.instructions }),
    disabledTools: stored.disabledTools,
    approvals: stored.approvals,
    limits: stored.limits,
    history: stored.history,
    historyFromOthers: stored.historyFromOthers,
  };
}
