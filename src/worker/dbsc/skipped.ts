import type { MiddlewareHandler } from "hono";
import { errorFacts, log } from "../../shared/log";
import { describePlace } from "../devices/device";
import type { AppEnv } from "../env";
import { registryFor } from "../sessions/registry-client";
import { parseSkipped } from "./headers";
import { parseDbscIdentifier } from "./identifier";

/**
 * `Secure-Session-Skipped` (w3c/webappsec-dbsc §"Secure-Session-Skipped"): a browser tells, on any
 * request, that it sent it without refreshing its bound cookie (the refresh failed, or its signing
 * quota ran out). Recorded as a security event after the answer (`waitUntil`), so the request itself
 * costs nothing more; an identifier this service did not issue is dropped before any registry is
 * reached. A browser past its quota repeats the header on every request, so each isolate forwards
 * one report per session and reason per minute (the registry keeps one per ten minutes).
 */
const FORWARD_INTERVAL_MS = 60_000;
const forwarded = new Map<string, number>();

export const dbscSkippedReports: MiddlewareHandler<AppEnv> = async (c, next) => {
  const reports = parseSkipped(c.req.header("Secure-Session-Skipped"));
  if (reports.length > 0) {
    const place = describePlace(c.req.raw);
    const now = Date.now();
    const work = Promise.all(
      reports.map(async ({ reason, identifier }) => {
        const key = `${identifier}:${reason}`;
        if (now - (forwarded.get(key) ?? 0) < FORWARD_INTERVAL_MS) return;
        if (forwarded.size >= 1024) forwarded.clear();
        forwarded.set(key, now);
        const session = await parseDbscIdentifier(c.env, identifier);
        if (session) await registryFor(c.env, session.userId).dbscSkipped(session.sessionId, reason, place);
      }),
    ).catch((error) => log("warn", "DBSC skipped report not recorded", errorFacts(error)));
    c.executionCtx.waitUntil(work);
  }
  await next();
};
