import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { EVENT_ID, SESSION_ID } from "../../contract/ids";
import { eventJson } from "../../contract/security-events";
import { iso } from "../../contract/session";
import { RiskFindingSchema, SecurityEventSchema } from "../../contract/wire-schema";
import { type AdminSessionRow, adminEvents, adminSessions, type Position } from "../../db/admin-listing";
import { DAYS, dashboardData, dashboardWindow, ENDING_REASONS, ENDINGS_WINDOW_DAYS, HOURS, LIFETIME_BUCKETS } from "../../db/dashboard";
import { configFrom } from "../../shared/config";
import { base64url, fromBase64url } from "../../shared/encoding";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { parseWith } from "../http/body";
import { failClosed } from "../http/fail-closed";
import { allowMethods } from "../http/methods";
import { ADMIN, NO_STORE, openApiRoutes, problems, queryParameters } from "../http/openapi";
import { AdminEvents, AdminSessions, Dashboard } from "./dashboard-json";

/**
 * The data the admin dashboard draws, and the rows behind each figure. The handlers know nothing of
 * how the caller proved it is an operator: `adminDataRoutes` carries no guard, and whoever mounts
 * it puts one in front (the bearer guard in admin/routes.ts; the page's cookie guard).
 */
export const adminDataRoutes = openApiRoutes<AppEnv>();

/**
 * The dashboard is kept in the isolate for the rest of the UTC minute it was computed in, so a
 * page reloaded by many operators costs D1 one batch a minute per isolate. An admin action (a
 * sign-out, a disable) is therefore missing from the figures for at most 60 seconds; the drill-downs
 * and per-user listings are never cached. The memo holds values only, never a pending promise: in
 * Workers a promise shared across requests can be left unsettled when the request that started
 * its I/O is cancelled, so requests arriving during a computation each run their own.
 */
export const DASHBOARD_CACHE_SECONDS = 60;
let memo: { minute: number; body: z.output<typeof Dashboard> } | null = null;

const common = { tags: ["admin"], security: ADMIN };
const answer = <S extends z.ZodType>(description: string, schema: S) => ({
  description,
  headers: { "Cache-Control": NO_STORE },
  content: { "application/json": { schema } },
});
const REFUSALS = ["admin_unauthorized", "not_found", "service_unavailable"] as const;

const dashboard = createRoute({
  ...common,
  method: "get",
  path: "/dashboard",
  operationId: "adminDashboard",
  summary: "Sign-in patterns and session analytics over the D1 mirror",
  description: `The last ${HOURS} hours by hour and ${DAYS} days by day, live sessions by dimension, lifetimes and endings of the last ${ENDINGS_WINDOW_DAYS} days, and the day's busiest and riskiest accounts. Computed in one D1 batch and reused for the rest of the minute (\`cache_seconds\`).`,
  responses: { 200: answer("The figures", Dashboard), ...problems(...REFUSALS) },
});

export async function dashboardHandler(c: Context<AppEnv>) {
  const now = Date.now();
  const minute = Math.floor(now / 60_000);
  if (memo?.minute !== minute) {
    const w = dashboardWindow(now, configFrom(c.env).idleTimeoutSeconds * 1000);
    const data = await failClosed("database", () => dashboardData(c.env.DB, w));
    memo = {
      minute,
      body: {
        generated_at: iso(now),
        time_zone: "UTC",
        cache_seconds: DASHBOARD_CACHE_SECONDS,
        hourly: { start: iso(w.hourlyStart), step_seconds: 3600, series: data.hourly },
        daily: { start: iso(w.dailyStart), step_seconds: 86_400, series: data.daily },
        live: {
          total: data.live.total,
          by_device_type: data.live.byDeviceType,
          by_browser: data.live.byBrowser,
          by_os: data.live.byOs,
          by_country: data.live.byCountry,
        },
        lifetimes: {
          ended_within_days: ENDINGS_WINDOW_DAYS,
          buckets: LIFETIME_BUCKETS.map(([key, upTo]) => ({ key, up_to_seconds: upTo, count: data.lifetimes[key] ?? 0 })),
        },
        endings: { window_days: ENDINGS_WINDOW_DAYS, by_reason: data.endings },
        top_accounts: {
          busiest: data.busiest.map((a) => ({ user_id: a.user_id, email: a.email, sign_ins: a.n })),
          riskiest: data.riskiest.map((a) => ({ user_id: a.user_id, email: a.email, findings: a.n })),
        },
      },
    };
  }
  return c.json(memo.body, 200);
}
adminDataRoutes.openapi(dashboard, dashboardHandler);

// ---- drill-downs -------------------------------------------------------------------------------

const EVENT_TYPES = SecurityEventSchema.options.map((option) => option.shape.type.value) as [string, ...string[]];
/** Event types whose details list findings (`details.findings`): the answers to "was this you?". */
const ANSWER_TYPES: readonly string[] = ["risk_acknowledged", "takeover_reported"];

const time = (what: string) => z.iso.datetime({ offset: true }).optional().meta({ description: what });
const page = {
  cursor: z.string().max(200).optional().meta({ description: "The `next_cursor` of the previous page" }),
  limit: z.coerce.number().int().min(1).max(100).default(50).meta({ description: "Rows per page" }),
};
const bounded = <T extends { from?: string | undefined; to?: string | undefined }>(
  query: T,
  issue: (message: string, path: string) => void,
) => {
  if (query.from !== undefined && query.to !== undefined && Date.parse(query.from) > Date.parse(query.to))
    issue("must not be after `to`", "from");
};

const eventsQuery = z
  .object({
    type: z.enum(EVENT_TYPES).optional().meta({ description: "A security event type; required unless `finding` is given" }),
    finding: RiskFindingSchema.optional().meta({
      description:
        "A risk finding: alone, the events of that finding; with `type=risk_acknowledged` or `takeover_reported`, the answers about it",
    }),
    from: time("Oldest `created_at` listed (inclusive); default: the retention period"),
    to: time("Newest `created_at` listed (exclusive); default: now"),
    ...page,
  })
  .superRefine((query, ctx) => {
    const issue = (message: string, path: string) => ctx.addIssue({ code: "custom", message, path: [path] });
    if (query.type === undefined && query.finding === undefined) issue("is required unless `finding` is given", "type");
    if (query.type !== undefined && query.finding !== undefined && query.type !== query.finding && !ANSWER_TYPES.includes(query.type))
      issue("applies only to its own event type or to `risk_acknowledged` and `takeover_reported`", "finding");
    bounded(query, issue);
  });

const listEvents = createRoute({
  ...common,
  method: "get",
  path: "/events",
  operationId: "adminListEvents",
  summary: "Security events across users, newest first: the rows behind a dashboard series",
  parameters: queryParameters(eventsQuery),
  responses: { 200: answer("One page of events", AdminEvents), ...problems("validation_failed", ...REFUSALS) },
});

export async function eventsHandler(c: Context<AppEnv>) {
  const query = parseWith(eventsQuery, given(c.req.query()));
  const now = Date.now();
  const type = query.type ?? query.finding!;
  const rows = await failClosed("database", () =>
    adminEvents(c.env.DB, {
      type,
      finding: query.finding !== undefined && query.finding !== type ? query.finding : undefined,
      from: query.from ? Date.parse(query.from) : now - configFrom(c.env).securityEventRetentionDays * 86_400_000,
      to: query.to ? Date.parse(query.to) : now + 1,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, EVENT_ID),
      limit: query.limit + 1,
    }),
  );
  const shown = rows.slice(0, query.limit);
  const last = shown.at(-1);
  return c.json(
    {
      events: shown.map((row) => ({
        user_id: row.user_id,
        email: row.email,
        event: eventJson({ id: row.id, type: row.type, createdAt: row.created_at, sessionId: row.session_id, details: row.details }),
      })),
      next_cursor: rows.length > query.limit && last ? encodeCursor({ at: last.created_at, id: last.id }) : null,
    },
    200,
  );
}
adminDataRoutes.openapi(listEvents, eventsHandler);

const dimension = (what: string) =>
  z
    .string()
    .min(1)
    .max(100)
    .optional()
    .meta({ description: `Only sessions whose ${what} is this` });
const sessionsQuery = z
  .object({
    state: z.enum(["live", "ended"]).meta({ description: "Live (not revoked, expired or idle), or ended" }),
    device_type: dimension("device type"),
    browser: dimension("browser"),
    os: dimension("operating system"),
    country: dimension("country (ISO 3166-1 alpha-2, as Cloudflare reports it)"),
    reason: z
      .enum(ENDING_REASONS as [string, ...string[]])
      .optional()
      .meta({ description: "Ended sessions only: how they ended" }),
    from: time("Live: started at or after this; ended: ended at or after this. Default: 30 days ago"),
    to: time("Live: started before this; ended: ended before this. Default: now"),
    ...page,
  })
  .superRefine((query, ctx) => {
    const issue = (message: string, path: string) => ctx.addIssue({ code: "custom", message, path: [path] });
    if (query.state === "live" && query.reason !== undefined) issue("applies only to `state=ended`", "reason");
    bounded(query, issue);
  });

const listSessions = createRoute({
  ...common,
  method: "get",
  path: "/sessions",
  operationId: "adminListAllSessions",
  summary: "Sessions across users: the rows behind a live count, a lifetime or an ending",
  description: "Live sessions come latest expiry first (with one absolute lifetime, newest first); ended ones, most recently ended first.",
  parameters: queryParameters(sessionsQuery),
  responses: { 200: answer("One page of sessions", AdminSessions), ...problems("validation_failed", ...REFUSALS) },
});

export async function sessionsHandler(c: Context<AppEnv>) {
  const query = parseWith(sessionsQuery, given(c.req.query()));
  const now = Date.now();
  const rows = await failClosed("database", () =>
    adminSessions(c.env.DB, {
      state: query.state,
      deviceType: query.device_type,
      browser: query.browser,
      os: query.os,
      country: query.country,
      reason: query.reason as (typeof ENDING_REASONS)[number] | undefined,
      from: query.from ? Date.parse(query.from) : now - ENDINGS_WINDOW_DAYS * 86_400_000,
      to: query.to ? Date.parse(query.to) : now + 1,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, SESSION_ID),
      limit: query.limit + 1,
      now,
      idleTimeoutMs: configFrom(c.env).idleTimeoutSeconds * 1000,
    }),
  );
  const shown = rows.slice(0, query.limit);
  const last = shown.at(-1);
  return c.json(
    {
      sessions: shown.map(sessionRowJson),
      next_cursor: rows.length > query.limit && last ? encodeCursor({ at: last.at, id: last.id }) : null,
    },
    200,
  );
}
adminDataRoutes.openapi(listSessions, sessionsHandler);

allowMethods(adminDataRoutes, "/dashboard", ["GET"]);
allowMethods(adminDataRoutes, "/events", ["GET"]);
allowMethods(adminDataRoutes, "/sessions", ["GET"]);

function sessionRowJson(row: AdminSessionRow): z.output<typeof AdminSessions>["sessions"][number] {
  return {
    id: row.id,
    user_id: row.user_id,
    email: row.email,
    device: { name: row.device_name, browser: row.browser, os: row.os, type: row.device_type },
    ip: row.ip,
    location: { country: row.country, city: row.city },
    binding: row.binding,
    created_at: iso(row.created_at),
    last_active_at: iso(row.last_active_at),
    expires_at: iso(row.expires_at),
    ended_at: row.ending === null ? null : iso(row.at),
    ending: row.ending,
    revoked_by_session_id: row.revoked_by,
    confirmed: row.confirmed_at !== null,
  };
}

/** The parameters with a value: a link or form that sends `cursor=&country=` means no cursor and any country. */
function given(query: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ""));
}

const cursorShape = z.object({ t: z.number().int(), id: z.string() }).strict();

/** Opaque to clients: where the previous page ended, as (time, id). */
function encodeCursor(position: Position): string {
  return base64url(new TextEncoder().encode(JSON.stringify({ t: position.at, id: position.id })));
}

function decodeCursor(cursor: string, idPattern: RegExp): Position {
  try {
    const bytes = fromBase64url(cursor);
    const parsed = cursorShape.parse(
      JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes ?? new Uint8Array())),
    );
    if (!idPattern.test(parsed.id)) throw new Error("not an id");
    return { at: parsed.t, id: parsed.id };
  } catch {
    const message = "Cursor is not one this service issued";
    throw new ApiError("validation_failed", { detail: message, extra: { errors: [{ field: "cursor", message }] } });
  }
}
