import { DiscordAPIError, RESTJSONErrorCodes } from 'discord.js';

/** Discord's error code, when the error came from its API. */
export function discordCode(error: unknown): number | undefined {
  return error instanceof DiscordAPIError && typeof error.code === 'number' ? error.code : undefined;
}

/** A sentence a user can act on; never a stack trace or raw API payload. */
export function explainDiscordError(error: unknown): string {
  switch (discordCode(error)) {
    case RESTJSONErrorCodes.MissingPermissions:
      return 'I am missing a Discord permission here (for example Send Messages, Create Public Threads or Embed Links). Ask an admin to check my role.';
    case RESTJSONErrorCodes.MissingAccess:
      return 'I cannot see that channel. Ask an admin to give me access.';
    case RESTJSONErrorCodes.UnknownInteraction:
      return 'Discord expired the interaction before I could answer. Please try again.';
    case RESTJSONErrorCodes.InvalidWebhookToken:
      return 'The interaction is older than 15 minutes, so I answered in the channel instead.';
    case RESTJSONErrorCodes.UnknownChannel:
    case RESTJSONErrorCodes.UnknownMessage:
      return 'The channel or message is gone.';
    default:
      return 'Discord refused the request.';
  }
}
