/**
 * Discord's error replies: an HTTP status plus the JSON body `{ code, message, errors? }` that
 * @discordjs/rest turns into a DiscordAPIError with the same code.
 */

export interface FieldError {
  /** Dotted path into the request body, e.g. `content` or `embeds.0.description`. */
  path: string;
  code: string;
  message: string;
}

export class DiscordError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
  }

  /** The body Discord sends: nested `errors` with `_errors` leaves for form errors. */
  body(): Record<string, unknown> {
    if (this.fieldErrors.length === 0) return { message: this.message, code: this.code };
    const errors: Record<string, unknown> = {};
    for (const fieldError of this.fieldErrors) {
      let node = errors;
      for (const key of fieldError.path.split('.')) {
        const next = (node[key] ?? {}) as Record<string, unknown>;
        node[key] = next;
        node = next;
      }
      const list = (node._errors ?? []) as unknown[];
      list.push({ code: fieldError.code, message: fieldError.message });
      node._errors = list;
    }
    return { message: this.message, code: this.code, errors };
  }
}

export const invalidForm = (fieldErrors: FieldError[]): DiscordError =>
  new DiscordError(400, 50035, 'Invalid Form Body', fieldErrors);

export const tooLong = (path: string, max: number): FieldError => ({
  path,
  code: 'BASE_TYPE_MAX_LENGTH',
  message: `Must be ${max} or fewer in length.`,
});

export const unauthorized = (): DiscordError => new DiscordError(401, 0, '401: Unauthorized');
export const missingPermissions = (): DiscordError => new DiscordError(403, 50013, 'Missing Permissions');
export const missingAccess = (): DiscordError => new DiscordError(403, 50001, 'Missing Access');
export const unknownChannel = (): DiscordError => new DiscordError(404, 10003, 'Unknown Channel');
export const unknownMessage = (): DiscordError => new DiscordError(404, 10008, 'Unknown Message');
export const unknownUser = (): DiscordError => new DiscordError(404, 10013, 'Unknown User');
export const unknownWebhook = (): DiscordError => new DiscordError(404, 10015, 'Unknown Webhook');
export const unknownInteraction = (): DiscordError => new DiscordError(404, 10062, 'Unknown interaction');
export const alreadyAcknowledged = (): DiscordError =>
  new DiscordError(400, 40060, 'Interaction has already been acknowledged.');
export const invalidWebhookToken = (): DiscordError => new DiscordError(401, 50027, 'Invalid Webhook Token');
export const emptyMessage = (): DiscordError => new DiscordError(400, 50006, 'Cannot send an empty message');
export const notAuthor = (): DiscordError =>
  new DiscordError(403, 50005, 'Cannot edit a message authored by another user');
export const invalidJson = (): DiscordError => new DiscordError(400, 50109, 'The request body contains invalid JSON.');
