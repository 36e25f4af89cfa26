/**
 * Discord's validation of what the bot sends: message bodies (length, embeds, emptiness),
 * message components and modals. Checked minimally, but with Discord's error codes.
 */
import { z } from 'zod';
import { emptyMessage, invalidForm, tooLong, type FieldError } from './errors.js';

export const FLAG_EPHEMERAL = 1 << 6;
export const FLAG_LOADING = 1 << 7;
export const FLAG_SUPPRESS_EMBEDS = 1 << 2;
export const FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12;
export const FLAG_COMPONENTS_V2 = 1 << 15;
/** Flags a bot may set when sending; the rest are Discord's to set. */
const SETTABLE_FLAGS = FLAG_EPHEMERAL | FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2;

const Embed = z.looseObject({
  title: z.string().nullish(),
  description: z.string().nullish(),
  fields: z.array(z.looseObject({ name: z.string(), value: z.string() })).nullish(),
  footer: z.looseObject({ text: z.string() }).nullish(),
  author: z.looseObject({ name: z.string() }).nullish(),
});

export const MessageBodySchema = z.looseObject({
  content: z.string().nullish(),
  embeds: z.array(Embed).nullish(),
  components: z.array(z.looseObject({ type: z.number() })).nullish(),
  flags: z.number().int().nullish(),
  attachments: z.array(z.looseObject({ id: z.union([z.string(), z.number()]) })).nullish(),
  sticker_ids: z.array(z.string()).nullish(),
  poll: z.unknown().optional(),
  /**
   * Resources > Message > Create Message: `nonce` (integer or string, up to 25 characters) and
   * `enforce_nonce` (boolean): with both, a message by the same author with the same nonce created
   * in the past few minutes is returned instead of a new one being created.
   */
  nonce: z.union([z.number().int(), z.string().max(25)]).nullish(),
  enforce_nonce: z.boolean().nullish(),
});
export type MessageBody = z.infer<typeof MessageBodySchema>;

/** zod issues → Discord's 50035 form errors. */
export function parseOrInvalidForm<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  throw invalidForm(
    result.error.issues.map((issue) => ({
      path: issue.path.length > 0 ? issue.path.join('.') : '_root',
      code: 'BASE_TYPE_BAD_TYPE',
      message: issue.message,
    })),
  );
}

export function parseMessageBody(body: unknown): MessageBody {
  return parseOrInvalidForm(MessageBodySchema, body);
}

/** The flags the bot asked for that Discord keeps (others are silently dropped). */
export function requestedFlags(body: MessageBody): number {
  return (body.flags ?? 0) & SETTABLE_FLAGS;
}

/** On edits only embed suppression and the switch to components v2 can change. */
export function editedFlags(previous: number, body: MessageBody): number {
  if (body.flags === undefined || body.flags === null) return previous & ~FLAG_LOADING;
  const changeable = FLAG_SUPPRESS_EMBEDS | FLAG_COMPONENTS_V2;
  return ((previous & ~changeable) | (body.flags & changeable)) & ~FLAG_LOADING;
}

function embedErrors(embeds: z.infer<typeof Embed>[]): FieldError[] {
  const errors: FieldError[] = [];
  if (embeds.length > 10) errors.push(tooLong('embeds', 10));
  let total = 0;
  embeds.forEach((embed, i) => {
    const check = (path: string, text: string | null | undefined, max: number): void => {
      const length = text?.length ?? 0;
      total += length;
      if (length > max) errors.push(tooLong(`embeds.${i}.${path}`, max));
    };
    check('title', embed.title, 256);
    check('description', embed.description, 4096);
    check('footer.text', embed.footer?.text, 2048);
    check('author.name', embed.author?.name, 256);
    const fields = embed.fields ?? [];
    if (fields.length > 25) errors.push(tooLong(`embeds.${i}.fields`, 25));
    fields.forEach((field, j) => {
      check(`fields.${j}.name`, field.name, 256);
      check(`fields.${j}.value`, field.value, 1024);
    });
  });
  if (total > 6000) {
    errors.push({ path: 'embeds', code: 'MAX_EMBED_SIZE_EXCEEDED', message: 'Embed size exceeds maximum size of 6000' });
  }
  return errors;
}

const Component = z.looseObject({
  type: z.number(),
  custom_id: z.string().optional(),
  style: z.number().optional(),
  url: z.string().optional(),
  label: z.string().optional(),
  components: z.array(z.unknown()).optional(),
  component: z.unknown().optional(),
  accessory: z.unknown().optional(),
});

const SELECT_TYPES = new Set([3, 5, 6, 7, 8]);

/** custom_id limits and uniqueness, for any component tree (classic rows or components v2). */
function walkComponents(nodes: readonly unknown[], path: string, seen: Set<string>, errors: FieldError[]): void {
  nodes.forEach((raw, i) => {
    const parsed = Component.safeParse(raw);
    const here = `${path}.${i}`;
    if (!parsed.success) {
      errors.push({ path: here, code: 'BASE_TYPE_BAD_TYPE', message: 'Invalid component' });
      return;
    }
    const c = parsed.data;
    if (c.custom_id !== undefined) {
      if (c.custom_id.length > 100) errors.push(tooLong(`${here}.custom_id`, 100));
      if (seen.has(c.custom_id)) {
        errors.push({ path: `${here}.custom_id`, code: 'COMPONENT_CUSTOM_ID_DUPLICATED', message: 'Component custom id cannot be duplicated' });
      }
      seen.add(c.custom_id);
    }
    if (c.type === 2) {
      const isLink = c.style === 5;
      const needsId = c.style !== 5 && c.style !== 6;
      if (needsId && c.custom_id === undefined) {
        errors.push({ path: `${here}.custom_id`, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });
      }
      if (isLink && (c.url === undefined || c.custom_id !== undefined)) {
        errors.push({ path: here, code: 'BUTTON_COMPONENT_INVALID_URL', message: 'A link button needs a url and no custom_id' });
      }
      if ((c.label?.length ?? 0) > 80) errors.push(tooLong(`${here}.label`, 80));
    }
    if (c.components) walkComponents(c.components, `${here}.components`, seen, errors);
    if (c.component !== undefined) walkComponents([c.component], `${here}.component`, seen, errors);
    if (c.accessory !== undefined) walkComponents([c.accessory], `${here}.accessory`, seen, errors);
  });
}

export function componentErrors(components: readonly z.infer<typeof Component>[], flags: number): FieldError[] {
  const errors: FieldError[] = [];
  walkComponents(components, 'components', new Set(), errors);
  if ((flags & FLAG_COMPONENTS_V2) !== 0) return errors;
  if (components.length > 5) errors.push(tooLong('components', 5));
  components.forEach((row, i) => {
    if (row.type !== 1) {
      errors.push({ path: `components.${i}.type`, code: 'UNION_TYPE_CHOICES', message: 'Top-level components must be action rows' });
      return;
    }
    const children = (row.components ?? []).map((child) => Component.safeParse(child).data);
    if (children.length === 0 || children.length > 5) {
      errors.push({ path: `components.${i}.components`, code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 5 in length.' });
    }
    if (children.some((child) => child !== undefined && SELECT_TYPES.has(child.type)) && children.length > 1) {
      errors.push({ path: `components.${i}.components`, code: 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', message: 'A select menu fills its row' });
    }
  });
  return errors;
}

export interface CheckedMessage {
  content: string;
  embeds: unknown[];
  components: unknown[];
  flags: number;
}

/**
 * Validates a create/edit body whose resulting flags the caller has worked out. For edits,
 * `previous` supplies the fields the body leaves out: emptiness is judged on the result.
 */
export function checkMessage(
  body: MessageBody,
  fileCount: number,
  flags: number,
  previous?: CheckedMessage & { attachments: number },
): CheckedMessage {
  const content = body.content === undefined || body.content === null ? (previous?.content ?? '') : body.content;
  const embeds = body.embeds ?? (previous?.embeds as MessageBody['embeds']) ?? [];
  const components = body.components ?? (previous?.components as MessageBody['components']) ?? [];
  const errors: FieldError[] = [];
  if (content.length > 2000) errors.push(tooLong('content', 2000));
  errors.push(...embedErrors(embeds), ...componentErrors(components, flags));
  if ((flags & FLAG_COMPONENTS_V2) !== 0 && (content !== '' || embeds.length > 0)) {
    errors.push({ path: 'content', code: 'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2', message: 'The content and embeds fields cannot be used with components v2' });
  }
  if (errors.length > 0) throw invalidForm(errors);
  const attachments = body.attachments ? body.attachments.length : (previous?.attachments ?? 0);
  const stickers = body.sticker_ids?.length ?? 0;
  const hasPoll = body.poll !== undefined && body.poll !== null;
  if (content.trim() === '' && embeds.length === 0 && components.length === 0 && attachments + fileCount + stickers === 0 && !hasPoll) {
    throw emptyMessage();
  }
  return { content, embeds, components, flags };
}

const ModalSchema = z.looseObject({
  custom_id: z.string().min(1),
  title: z.string().min(1),
  components: z.array(z.looseObject({ type: z.number() })).min(1),
});

/** A modal (interaction callback type 9): ids, title and 1–5 top-level components. */
export function checkModal(data: unknown): z.infer<typeof ModalSchema> {
  const modal = parseOrInvalidForm(ModalSchema, data);
  const errors: FieldError[] = [];
  if (modal.custom_id.length > 100) errors.push(tooLong('data.custom_id', 100));
  if (modal.title.length > 45) errors.push(tooLong('data.title', 45));
  if (modal.components.length > 5) errors.push(tooLong('data.components', 5));
  walkComponents(modal.components, 'data.components', new Set(), errors);
  if (errors.length > 0) throw invalidForm(errors);
  return modal;
}
