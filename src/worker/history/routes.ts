import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { EVENT_ID } from "../../contract/ids";
import { eventJson } from "../../contract/security-events";
import { SecurityEventSchema } from "../../contract/wire-schema";
import { securityEventsRepository } from "../../db/security-events";
import { configFrom } from "../../shared/config";
import { base64url, fromBase64url } from "../../shared/encoding";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { parseWith } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ACCESS_TOKEN, ACCESS_TOKEN_REFUSALS, openApiRoutes, problems, queryParameters } from "../http/openapi";
import { requireAccessToken } from "../sessions/guard";
import { registryFor } from "../sessions/registry-client";

/** One page of a security history: the user's own (GET /v1/security-events) and an admin's view of it. */
export const SecurityEventPage = z
  .object({
    events: z.array(SecurityEventSchema),
    next_cursor: z.string().nullable().meta({ description: "Where the next page starts; null on the last page" }),
  })
  .strict();

const query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: "Events per page" }),
  cursor: z.string().max(200).optional().meta({ description: "The `next_cursor` of the previous page" }),
});
const cursorShape = z.object({ t: z.number().int().nonnegative(), id: z.string().regex(EVENT_ID) });

/** Opaque to clients: where the previous page ended, as (created_at, id). */
export function encodeCursor(position: { createdAt: number; id: string }): string {
  return base64url(new TextEncoder().encode(JSON.stringify({ t: position.createdAt, id: position.id })));
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const bytes = fromBase64url(cursor);
  try {
    const parsed = cursorShape.parse(
      JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes ?? new Uint8Array())),
    );
    return { createdAt: parsed.t, id: parsed.id };
  } catch {
    const message = "Cursor is not one this service issued";
    throw new ApiError("validation_failed", { detail: message, extra: { errors: [{ field: "cursor", message }] } });
  }
}

export const securityEventRoutes = openApiRoutes<AppEnv>();

const listSecurityEvents = createRoute({
  method: "get",
  path: "/",
  operationId: "listSecurityEvents",
  summary: "The user's security history, newest first",
  tags: ["sessions"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  parameters: queryParameters(query),
  responses: {
    200: {
      description: "One page of events",
      content: {
        "application/json": {
          schema: SecurityEventPage,
        },
      },
    },
    ...problems("validation_failed", ...ACCESS_TOKEN_REFUSALS, "registry_unavailable", "service_unavailable"),
  },
});

/**
 * The caller's own security history, newest first, from D1 (the registry's outbox fills it). The
 * registry pushes anything still in its outbox first, so the history is as fresh as the live channel.
 */
securityEventRoutes.openapi(listSecurityEvents, async (c) => {
  const { userId, actor } = c.var.caller;
  const { limit, cursor } = parseWith(query, c.req.query());
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const ready = await failClosed("registry", () => registryFor(c.env, userId).sessionMirrorHistory(actor));
  if (!ready.ok) throw new ApiError(ready.code);
  const notBefore = Date.now() - configFrom(c.env).securityEventRetentionDays * 86_400_000;
  const rows = await failClosed("database", () =>
    securityEventsRepository(c.env.DB).listForUser(userId, { limit: limit + 1, notBefore, after }),
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return c.json(
    {
      events: page.map(eventJson),
      next_cursor: rows.length > limit && last ? encodeCursor(last) : null,
    },
    200,
  );
});
allowMethods(securityEventRoutes, "/", ["GET"]);
