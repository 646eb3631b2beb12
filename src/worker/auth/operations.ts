import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import {
  ACCESS_TOKEN,
  ACCESS_TOKEN_REFUSALS,
  CLEAR_REFRESH_COOKIE,
  DPOP_PROOF_HEADER,
  jsonRequest,
  NO_STORE,
  PUBLIC,
  problems,
  type Refusal,
  SET_REFRESH_COOKIE,
  SIGN_IN_COOKIES,
} from "../http/openapi";

/** W3C DBSC: the offer a cookie sign-in carries (docs/dbsc.md). */
const DBSC_REGISTRATION = {
  description:
    'With the cookie transport: `(ES256 RS256);path="/v1/auth/dbsc/register";challenge="…"`, a DBSC registration offer (W3C DBSC; docs/dbsc.md)',
  schema: { type: "string" as const },
};

import { displayText, email, newPassword, presentedPassword, tokenTransport } from "../http/validation";
import { authenticationResponse } from "../passkeys/validation";
import { requireAccessToken } from "../sessions/guard";
import { AuthResult, Revoked, TokenResult } from "../sessions/json";
import { MAX_DEVICE_TOKEN_LENGTH } from "./device-token";

/**
 * The operations of /v1/auth as the OpenAPI document describes them: their bodies (which the
 * handlers in routes.ts read with these same schemas), answers, headers and refusals. Kept apart
 * from the handlers so each file reads as one thing.
 */

export const signupBody = z.object({
  email,
  password: newPassword,
  device_name: displayText(64).nullish(),
  token_transport: tokenTransport,
});

export const loginBody = signupBody.extend({
  password: presentedPassword,
  // What an earlier sign-in on this device returned (body transport; browsers hold it as a cookie).
  // Any string up to the length is taken: one that does not verify is an unknown device, not an error.
  device_token: z.string().max(MAX_DEVICE_TOKEN_LENGTH).optional().meta({
    description:
      "The `device_token` an earlier sign-in of this account on this device returned (body transport). With it, failed sign-ins count against this device's own budget, not the account's (docs/operations.md, device cookies).",
  }),
});

export const refreshBody = z.object({ refresh_token: z.string().max(512) });

export const passwordBody = z
  .object({
    // The current password, or (for an account with passkeys) an assertion answering this
    // session's step-up challenge (POST /v1/auth/reauthenticate/options).
    current_password: presentedPassword.optional(),
    response: authenticationResponse.optional(),
    new_password: newPassword,
    sign_out_others: z.boolean().default(true),
  })
  .refine((body) => (body.current_password === undefined) !== (body.response === undefined), {
    message: "send current_password or a passkey response, not both",
    path: ["current_password"],
  });

/** What a sign-in (password or passkey) may answer instead of a session. */
export const SIGN_IN_REFUSALS: Refusal[] = [
  "validation_failed",
  ["invalid_dpop_proof", 400],
  ["use_dpop_nonce", 400],
  "invalid_credentials",
  "csrf_rejected",
  "account_disabled",
  "session_limit_reached",
  "payload_too_large",
  "rate_limited",
  "registry_unavailable",
  "service_unavailable",
];

/** A new session's answer, from any way of signing in. */
export const signedIn = (description: string) => ({
  description,
  headers: { "Cache-Control": NO_STORE, "Set-Cookie": SIGN_IN_COOKIES, "Secure-Session-Registration": DBSC_REGISTRATION },
  content: { "application/json": { schema: AuthResult } },
});

export const signUp = createRoute({
  method: "post",
  path: "/signup",
  operationId: "signUp",
  summary: "Create an account and its first session",
  description: 'With `"token_transport": "cookie"` (the default) the refresh token is set as a cookie and a foreign `Origin` is refused.',
  tags: ["accounts"],
  security: PUBLIC,
  request: { body: jsonRequest(signupBody), headers: DPOP_PROOF_HEADER },
  responses: {
    201: signedIn("The account and its first session"),
    ...problems(
      "validation_failed",
      "weak_password",
      ["invalid_dpop_proof", 400],
      ["use_dpop_nonce", 400],
      "csrf_rejected",
      "email_taken",
      "payload_too_large",
      "rate_limited",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

export const logIn = createRoute({
  method: "post",
  path: "/login",
  operationId: "logIn",
  summary: "Sign in: a new session on this device",
  description: "An unknown email and a wrong password get the same answer, in the same time.",
  tags: ["accounts"],
  security: PUBLIC,
  request: { body: jsonRequest(loginBody), headers: DPOP_PROOF_HEADER },
  responses: {
    200: signedIn("The new session"),
    ...problems(...SIGN_IN_REFUSALS),
  },
});

export const refreshTokens = createRoute({
  method: "post",
  path: "/refresh",
  operationId: "refresh",
  summary: "New tokens for the session; the refresh token rotates",
  description:
    "The refresh token comes in the JSON body or in the cookie; with both, the body wins. A token presented again within the grace window gets the same successor; after it, the whole session is revoked (reuse).",
  tags: ["accounts"],
  security: [{ refreshCookie: [] }, {}],
  request: {
    body: jsonRequest(refreshBody, { required: false, description: "Absent (or empty) to use the cookie" }),
    headers: DPOP_PROOF_HEADER,
  },
  responses: {
    200: {
      description: "A new access token, and the rotated refresh token in the body or the cookie, as it came",
      headers: { "Cache-Control": NO_STORE, "Set-Cookie": SET_REFRESH_COOKIE },
      content: { "application/json": { schema: TokenResult } },
    },
    ...problems(
      "validation_failed",
      "invalid_refresh_token",
      "invalid_dpop_proof",
      "use_dpop_nonce",
      "csrf_rejected",
      "payload_too_large",
      "rate_limited",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});

export const logOut = createRoute({
  method: "post",
  path: "/logout",
  operationId: "logOut",
  summary: "Sign this session out (idempotent)",
  description:
    "By its access token (even just expired), by the refresh cookie, or both; either clears the cookie. A foreign `Origin` (or, without one, a cross-site `Sec-Fetch-Site`) is refused whether or not a cookie came, and a request with no credential changes no cookie.",
  tags: ["accounts"],
  security: [{ bearer: [] }, { dpop: [] }, { refreshCookie: [] }, {}],
  request: { headers: DPOP_PROOF_HEADER },
  responses: {
    204: {
      description: "Signed out, or already signed out",
      headers: {
        "Cache-Control": NO_STORE,
        "Set-Cookie": {
          ...CLEAR_REFRESH_COOKIE,
          required: false,
          description: `${CLEAR_REFRESH_COOKIE.description}, when a credential came`,
        },
      },
    },
    ...problems(...ACCESS_TOKEN_REFUSALS, "csrf_rejected", "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

export const logOutOthers = createRoute({
  method: "post",
  path: "/logout-others",
  operationId: "logOutOthers",
  summary: "Sign every other session of the user out; this one stays",
  tags: ["accounts"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  responses: {
    200: { description: "How many sessions ended", content: { "application/json": { schema: Revoked } } },
    ...problems(...ACCESS_TOKEN_REFUSALS, "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

export const logOutAll = createRoute({
  method: "post",
  path: "/logout-all",
  operationId: "logOutAll",
  summary: "Sign every session of the user out, this one too",
  tags: ["accounts"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  responses: {
    200: {
      description: "How many sessions ended, this one included",
      headers: { "Cache-Control": NO_STORE, "Set-Cookie": CLEAR_REFRESH_COOKIE },
      content: { "application/json": { schema: Revoked } },
    },
    ...problems(...ACCESS_TOKEN_REFUSALS, "payload_too_large", "registry_unavailable", "service_unavailable"),
  },
});

export const changePassword = createRoute({
  method: "post",
  path: "/password",
  operationId: "changePassword",
  summary: "Change the password; other sessions are signed out unless told otherwise",
  tags: ["accounts"],
  security: ACCESS_TOKEN,
  middleware: [requireAccessToken],
  request: { body: jsonRequest(passwordBody) },
  responses: {
    204: {
      description: "The new password is stored",
      headers: {
        "Set-Cookie": {
          description:
            "When the request carried a device cookie: a fresh `__Host-device_token` (the change ended every earlier device credential)",
          schema: { type: "string" },
        },
      },
    },
    ...problems(
      "validation_failed",
      "weak_password",
      ...ACCESS_TOKEN_REFUSALS,
      "invalid_credentials",
      "rate_limited",
      "payload_too_large",
      "registry_unavailable",
      "service_unavailable",
    ),
  },
});
