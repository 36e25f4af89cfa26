/**
 * Discord counts a bot's requests against a global budget (50 a second by default), but not its
 * interaction traffic: "Interaction endpoints are not bound to the bot's Global Rate Limit"
 * (discord-api-docs, Rate Limits > Global Rate Limit). discord.js paces every request by one
 * budget, so a burst of /agent runs waited on budget their replies never used. This REST sends
 * the interaction callback and the interaction webhook (the reply, its edits and follow-ups)
 * through a second manager with its own per-route buckets and no practical global cap; the rest
 * keeps the configured budget.
 */
import { REST, RESTEvents, type InternalRequest, type RESTOptions, type ResponseLike } from 'discord.js';

/** Far above what interaction traffic reaches; per-route buckets (and 429s) still pace it. */
const EXEMPT_REQUESTS_PER_SECOND = 10_000;

const CALLBACK = /^\/interactions\/\d{17,20}\/[^/]+\/callback$/;
const WEBHOOK = /^\/webhooks\/(\d{17,20})\/[^/]+(?:\/messages\/[^/]+)?$/;

/** What the exemption needs of a REST manager class: discord.js's, or @discordjs/rest's own module. */
type RESTClass = new (options?: Partial<RESTOptions>) => REST;

/**
 * The exemption over a REST manager class. discord.js (CommonJS) and @discordjs/rest imported
 * from ESM are two copies of one module, with distinct error classes: a REST proxy must throw
 * the errors of the copy @discordjs/proxy checks (src/rest-proxy/proxy.ts).
 */
export function exemptingInteractions(Base: RESTClass) {
  return class InteractionExempt extends Base {
    private readonly exempt: REST;
    /** The application's id: its webhook is the interaction webhook (set once the client is ready). */
    private applicationId: string | null = null;

    constructor(options: Partial<RESTOptions> = {}) {
      super(options);
      this.exempt = new Base({ ...options, globalRequestsPerSecond: EXEMPT_REQUESTS_PER_SECOND });
      // Listeners of this manager (metrics) hear the other's responses and limits too.
      this.exempt.on(RESTEvents.Response, (request, response) => this.emit(RESTEvents.Response, request, response));
      this.exempt.on(RESTEvents.RateLimited, (info) => this.emit(RESTEvents.RateLimited, info));
    }

    setApplicationId(id: string): void {
      this.applicationId = id;
    }

    /** Whether `route` is interaction traffic, which Discord does not count against the global budget. */
    isInteractionRoute(route: string): boolean {
      if (CALLBACK.test(route)) return true;
      const webhook = WEBHOOK.exec(route);
      return webhook !== null && webhook[1] === this.applicationId;
    }

    override setToken(token: string): this {
      this.exempt.setToken(token);
      return super.setToken(token);
    }

    override queueRequest(request: InternalRequest): Promise<ResponseLike> {
      return this.isInteractionRoute(request.fullRoute) ? this.exempt.queueRequest(request) : super.queueRequest(request);
    }

    override clearHashSweeper(): void {
      this.exempt.clearHashSweeper();
      super.clearHashSweeper();
    }

    override clearHandlerSweeper(): void {
      this.exempt.clearHandlerSweeper();
      super.clearHandlerSweeper();
    }
  };
}

/** discord.js's REST with the exemption: the client's. */
export const InteractionExemptREST = exemptingInteractions(REST);
export type InteractionExemptREST = InstanceType<typeof InteractionExemptREST>;
