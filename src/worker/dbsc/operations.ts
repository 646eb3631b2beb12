import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { CLEAR_REFRESH_COOKIE, NO_STORE, PUBLIC, problems, SET_REFRESH_COOKIE } from "../http/openapi";
import { DbscInstructions, DbscTermination } from "./instructions";

/**
 * The DBSC endpoints as the OpenAPI document describes them (docs/dbsc.md). Their callers are
 * browsers, not applications: Chromium sends the proof headers raw, the spec says sf-string, and
 * both are read. Chromium ends its DBSC session on any 4xx but 403, so a transient failure is a
 * 503 (never a 429: Chromium ends the session on that too).
 */

const PROOF = z
  .string()
  .optional()
  .meta({ description: "A `dbsc+jwt` proof (ES256 or RS256), raw or as an sf-string; its `jti` is the challenge it signs" });

const CHALLENGE_AHEAD = {
  description: 'W3C DBSC: `"<challenge>";id="<session identifier>"`, sent ahead so the next refresh needs no 403 round trip',
  required: true,
  schema: { type: "string" as const },
};

export const dbscRegister = createRoute({
  method: "post",
  path: "/register",
  operationId: "dbscRegister",
  summary: "DBSC registration: bind this browser session to the browser's key",
  description:
    "Called by the browser after a cookie sign-in answered `Secure-Session-Registration`. The proof carries the key (header `jwk`, or the earlier drafts' payload `key`) and signs the session's registration challenge. The refresh cookie rotates and becomes short-lived (DBSC_COOKIE_SECONDS).",
  tags: ["dbsc"],
  security: [{ refreshCookie: [] }],
  request: { headers: z.object({ "Secure-Session-Response": PROOF }) },
  responses: {
    200: {
      description: "Bound: the session instructions, and the short-lived cookie",
      headers: {
        "Cache-Control": NO_STORE,
        "Set-Cookie": { ...SET_REFRESH_COOKIE, required: true },
        "Secure-Session-Challenge": CHALLENGE_AHEAD,
      },
      content: { "application/json": { schema: DbscInstructions } },
    },
    ...problems(
      "dbsc_registration_refused",
      "invalid_refresh_token",
      "csrf_rejected",
      "validation_failed",
      "payload_too_large",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

export const dbscRefresh = createRoute({
  method: "post",
  path: "/refresh",
  operationId: "dbscRefresh",
  summary: "DBSC refresh: a fresh short-lived refresh cookie for a proof of the browser's key",
  description:
    "Without a proof, or with one over a challenge that is used, expired or another session's: 403 with a new challenge. With a proof by the session's key: the cookie is renewed (the refresh token inside rotates). An ended or unbound session answers `continue: false`, which ends the browser's DBSC session.",
  tags: ["dbsc"],
  security: PUBLIC,
  request: {
    headers: z.object({
      "Sec-Secure-Session-Id": z.string().optional().meta({ description: "The DBSC session identifier, raw or as an sf-string" }),
      "Secure-Session-Response": PROOF,
    }),
  },
  responses: {
    200: {
      description:
        "The session instructions with the renewed cookie; or `continue: false` (the session ended: the cookie is cleared, with `Clear-Site-Data`)",
      headers: {
        "Cache-Control": NO_STORE,
        "Set-Cookie": {
          ...SET_REFRESH_COOKIE,
          description: `${SET_REFRESH_COOKIE.description}; or, for an ended session, ${CLEAR_REFRESH_COOKIE.description}`,
        },
        "Secure-Session-Challenge": { ...CHALLENGE_AHEAD, required: false },
        "Clear-Site-Data": { description: '`"cookies"`, for an ended session', schema: { type: "string" as const } },
      },
      content: { "application/json": { schema: z.union([DbscInstructions, DbscTermination]) } },
    },
    ...problems(
      "dbsc_challenge",
      "invalid_dbsc_proof",
      "validation_failed",
      "csrf_rejected",
      ["rate_limited", 503],
      "payload_too_large",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});
