/**
 * The `components` of a MODAL_SUBMIT (Interactions > Modal Submit Data Structure): the values of
 * a modal the bot opened, laid out like it, or — for a forged submission — built from nothing.
 */
import { z } from 'zod';

/** A field of a modal: a text input (4) or, inside a label, a string select (3) with its options. */
const Field = z.looseObject({
  type: z.number(),
  custom_id: z.string().optional(),
  required: z.boolean().optional(),
  options: z.array(z.looseObject({ value: z.string(), default: z.boolean().optional() })).optional(),
});

const ModalComponent = z.looseObject({
  type: z.number(),
  id: z.number().optional(),
  custom_id: z.string().optional(),
  required: z.boolean().optional(),
  components: z.array(Field).optional(),
  component: Field.optional(),
});

/**
 * The submitted components, mirroring the layout of the modal the bot opened (action rows or
 * labels) so discord.js's `fields.getTextInputValue` sees what Discord would send.
 */
export function modalComponents(modal: { components: unknown[] }, fields: Record<string, string>): unknown[] {
  const used = new Set<string>();
  let nextId = 1;
  const input = (c: z.infer<typeof Field>): Record<string, unknown> => {
    const customId = c.custom_id ?? '';
    const value = fields[customId];
    if (value === undefined && c.required !== false && c.type === 4) throw new Error(`fake Discord: modal field "${customId}" is required`);
    used.add(customId);
    const id = nextId++;
    if (c.type === 3) {
      // A string select in a modal submits `values` (Components > String Select, modal submission:
      // `{type: 3, id, custom_id, values}` inside its label). The client offers only its options and
      // starts from the ones marked `default`.
      const offered = c.options ?? [];
      if (value !== undefined && !offered.some((o) => o.value === value)) throw new Error(`fake Discord: "${value}" is not an option of select "${customId}"`);
      const values = value === undefined ? offered.filter((o) => o.default === true).map((o) => o.value) : [value];
      if (values.length === 0 && c.required !== false) throw new Error(`fake Discord: select "${customId}" is required`);
      return { type: 3, id, custom_id: customId, values };
    }
    return { type: c.type, id, custom_id: customId, value: value ?? '' };
  };
  const out = modal.components.flatMap((raw) => {
    const parsed = ModalComponent.safeParse(raw);
    if (!parsed.success) return [];
    const c = parsed.data;
    const id = nextId++;
    if (c.components) return [{ type: c.type, id, components: c.components.map(input) }];
    if (c.component) return [{ type: c.type, id, component: input(c.component) }];
    return c.type === 10 ? [{ type: 10, id }] : [];
  });
  const unknown = Object.keys(fields).filter((key) => !used.has(key));
  if (unknown.length > 0) throw new Error(`fake Discord: the modal has no field(s) ${unknown.join(', ')}`);
  return out;
}

/**
 * Components for a forged submission (a modified client, no modal behind it): each field a text
 * input (type 4) in its own action row (type 1), the classic layout discord.js reads with
 * `fields.getTextInputValue`.
 */
export function forgedModalComponents(fields: Record<string, string>): unknown[] {
  return Object.entries(fields).map(([custom_id, value], i) => ({
    type: 1,
    id: i * 2 + 1,
    components: [{ type: 4, id: i * 2 + 2, custom_id, value }],
  }));
}
