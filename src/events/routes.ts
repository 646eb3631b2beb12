import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { configFrom } from "../config";
import { securityEventsRepository } from "../db/security-events";
import { base64url, fromBase64url } from "../encoding";
import { ApiError } from "../errors";
import { withDatabase } from "../http/database";
import { allowMethods } from "../http/methods";
import { callRegistry, registryFor } from "../sessions/registry-client";
import { requireAccessToken } from "../sessions/guard";
import { eventJson } from "./event-log";

const query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});
const cursorShape = z.object({ t: z.number().int().nonnegative(), id: z.string().regex(/^evt_[A-Za-z0-9_-]{10,60}$/) });

/** Opaque to clients: where the previous page ended, as (created_at, id). */
function encodeCursor(position: { createdAt: number; id: string }): string {
  return base64url(new TextEncoder().encode(JSON.stringify({ t: position.createdAt, id: position.id })));
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const bytes = fromBase64url(cursor);
  try {
    const parsed = cursorShape.parse(JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes ?? new Uint8Array())));
    return { createdAt: parsed.t, id: parsed.id };
  } catch {
    throw new ApiError("validation_failed", "cursor is not one this service issued", {}, { errors: [{ field: "cursor", message: "is not valid" }] });
  }
}

export const securityEventRoutes = new Hono<AppEnv>();

/**
 * The caller's own security history, newest first, from D1 (the registry's outbox fills it). The
 * registry pushes anything still in its outbox first, so the history is as fresh as the live channel.
 */
securityEventRoutes.get("/", requireAccessToken, async (c) => {
  const { userId, sessionId } = c.var.caller;
  const parsed = query.safeParse(c.req.query());
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({ field: issue.path.join(".") || null, message: issue.message }));
    throw new ApiError("validation_failed", errors[0]?.message, {}, { errors });
  }
  const after = parsed.data.cursor === undefined ? undefined : decodeCursor(parsed.data.cursor);
  if (!(await callRegistry(() => registryFor(c.env, userId).checkMirrored(sessionId)))) throw new ApiError("invalid_token");
  const notBefore = Date.now() - configFrom(c.env).securityEventRetentionDays * 86_400_000;
  const { limit } = parsed.data;
  const rows = await withDatabase(() => securityEventsRepository(c.env.DB).listForUser(userId, { limit: limit + 1, notBefore, after }));
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return c.json({
    events: page.map((row) => eventJson({ id: row.id, type: row.type, created_at: row.createdAt, session_id: row.sessionId, details: row.details })),
    next_cursor: rows.length > limit && last ? encodeCursor(last) : null,
  });
});
allowMethods(securityEventRoutes, "/", ["GET"]);
