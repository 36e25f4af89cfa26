/**
 * The chat models a run may use: the configured one (CAIRN_MODEL) and the operator's allow-list
 * (CAIRN_MODELS), which a server or channel may pick from (src/settings). Each is built once, the
 * same way as the default (client → tool calling → window fitting), with its own price.
 */
import type { RunModel } from '../agent/agent.js';
import type { ModelPrice } from '../agent/budget.js';
import type { ChatModel } from './types.js';

export class ModelCatalog {
  private readonly built = new Map<string, RunModel>();
  readonly allowed: readonly string[];

  constructor(
    readonly defaultId: string,
    allowed: readonly string[],
    private readonly build: (id: string) => ChatModel,
    private readonly priceOf: (id: string) => ModelPrice | undefined,
  ) {
    this.allowed = [defaultId, ...allowed.filter((id) => id !== defaultId)];
  }

  /** Whether `id` may be used. */
  allows(id: string): boolean {
    return this.allowed.includes(id);
  }

  /** The model `id`, or the default model when `id` is (no longer) on the allow-list. */
  getOrDefault(id: string): RunModel {
    return this.get(this.allows(id) ? id : this.defaultId);
  }

  /** The model `id` with its price; throws for an id off the allow-list (settings check first). */
  get(id: string): RunModel {
    if (!this.allows(id)) throw new Error(`The model "${id}" is not on the operator's list (CAIRN_MODELS): ${this.allowed.join(', ')}.`);
    let model = this.built.get(id);
    if (model === undefined) {
      model = { chat: this.build(id), price: this.priceOf(id) };
      this.built.set(id, model);
    }
    return model;
  }
}
