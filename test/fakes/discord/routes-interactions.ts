/**
 * Interaction routes, called without a bot token: the one-time callback, and the interaction
 * webhook (@original and follow-ups) that lives as long as the interaction token.
 */
import type { Ctx } from './context.js';
import type { Reply, Route } from './http.js';
import { messagePayload } from './payloads.js';
import { FLAG_EPHEMERAL, FLAG_LOADING } from './rules.js';

export function interactionRoutes(ctx: Ctx): Route[] {
  const { interactions, world } = ctx;
  const webhookMessage = '/webhooks/:app/:token/messages/:message';
  return [
    {
      method: 'POST',
      pattern: '/interactions/:id/:token/callback',
      auth: 'none',
      handler: (req, p): Reply => {
        const { record, message } = interactions.callback(p('id'), p('token'), req.body, req.files);
        if (req.query.get('with_response') !== 'true') return { status: 204 };
        const type = record.callbacks[0]?.type ?? 0;
        return {
          status: 200,
          body: {
            interaction: {
              id: record.id,
              type: record.type,
              activity_instance_id: null,
              response_message_id: message?.id ?? null,
              response_message_loading: message ? (message.flags & FLAG_LOADING) !== 0 : null,
              response_message_ephemeral: message ? (message.flags & FLAG_EPHEMERAL) !== 0 : null,
            },
            resource: { type, ...(message && type !== 6 ? { message: messagePayload(world, message) } : {}) },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: webhookMessage,
      auth: 'none',
      handler: (_req, p): Reply => {
        const record = interactions.webhook(p('app'), p('token'));
        return { status: 200, body: messagePayload(world, interactions.webhookMessage(record, p('message'))) };
      },
    },
    {
      method: 'PATCH',
      pattern: webhookMessage,
      auth: 'none',
      handler: (req, p): Reply => {
        const record = interactions.webhook(p('app'), p('token'));
        const message = interactions.webhookMessage(record, p('message'));
        interactions.editWebhookMessage(record, message, req.body, req.files);
        return { status: 200, body: messagePayload(world, message) };
      },
    },
    {
      method: 'DELETE',
      pattern: webhookMessage,
      auth: 'none',
      handler: (_req, p): Reply => {
        const record = interactions.webhook(p('app'), p('token'));
        ctx.messages.delete(interactions.webhookMessage(record, p('message')));
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/webhooks/:app/:token',
      auth: 'none',
      handler: (req, p): Reply => {
        const record = interactions.webhook(p('app'), p('token'));
        const message = interactions.followUp(record, req.body, req.files);
        return req.query.get('wait') === 'true' ? { status: 200, body: messagePayload(world, message) } : { status: 204 };
      },
    },
  ];
}
