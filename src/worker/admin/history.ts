import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { USER_ID } from "../../contract/ids";
import { eventJson } from "../../contract/security-events";
import { securityEventsRepository } from "../../db/security-events";
import { usersRepository } from "../../db/users";
import { configFrom } from "../../shared/config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { decodeCursor, encodeCursor, SecurityEventPage } from "../history/routes";
import { parseWith } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ADMIN, NO_STORE, openApiRoutes, problems, queryParameters } from "../http/openapi";
import { requireAdmin } from "./auth";

/**
 * A user's security history for an operator (the admin dashboard's user view). Its own file so the
 * admin routes file stays one surface; the same rows, retention and cursor as GET
 * /v1/security-events, read from D1. Unlike the user's own route it does not first push the
 * registry's outbox (that call is a session's): an event a few hundred milliseconds old may be
 * missing until the outbox's next flush.
 */
export const adminHistoryRoutes = openApiRoutes<AppEnv>();

const query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50).meta({ description: "Events per page" }),
  cursor: z.string().max(200).optional().meta({ description: "The `next_cursor` of the previous page" }),
});
const userPath = z.object({ id: z.string().meta({ description: "A user id (`usr_…`)", example: "usr_0123456789abcdefghijkl" }) });

const listUserEvents = createRoute({
  tags: ["admin"],
  security: ADMIN,
  middleware: [requireAdmin],
  method: "get",
  path: "/users/{id}/security-events",
  operationId: "adminListSecurityEvents",
  summary: "A user's security history, newest first",
  request: { params: userPath },
  parameters: queryParameters(query),
  responses: {
    200: {
      description: "One page of events",
      headers: { "Cache-Control": NO_STORE },
      content: {
        "application/json": {
          schema: SecurityEventPage,
        },
      },
    },
    ...problems("validation_failed", "admin_unauthorized", "not_found", "service_unavailable"),
  },
});

adminHistoryRoutes.openapi(listUserEvents, async (c) => {
  const id = c.req.param("id");
  const { limit, cursor } = parseWith(query, c.req.query());
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const user = USER_ID.test(id) ? await failClosed("database", () => usersRepository(c.env.DB).findById(id)) : undefined;
  if (!user) throw new ApiError("not_found");
  const notBefore = Date.now() - configFrom(c.env).securityEventRetentionDays * 86_400_000;
  const rows = await failClosed("database", () =>
    securityEventsRepository(c.env.DB).listForUser(user.id, { limit: limit + 1, notBefore, after }),
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  c.header("Cache-Control", "no-store");
  return c.json({ events: page.map(eventJson), next_cursor: rows.length > limit && last ? encodeCursor(last) : null }, 200);
});
allowMethods(adminHistoryRoutes, "/users/:id/security-events", ["GET"]);
