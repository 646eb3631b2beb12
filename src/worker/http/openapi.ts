import { type Hook, OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { type ErrorCode, errorTitles } from "../errors";
import { oauthErrorOf, oauthStatusOf } from "../oauth/errors";
import { validationFailed } from "./body";

/**
 * The OpenAPI document's plumbing. Each route is declared with `createRoute` and registered with
 * `.openapi()`; the zod schemas it names are the ones that validate its input and type its output.
 *
 * Request bodies and queries are read and validated by the handler (`readJson`, `readFormFields`,
 * `parseWith`), as before: the route only documents them, through `jsonRequest` and friends, from
 * the same schema object. The library's own body validators are not used because its media-type
 * gate refuses types this API accepts (`application/vnd.api.v2+json`, `application/json ; charset=utf-8`,
 * RFC 9110 §8.3.1), it reads an optional JSON body that is empty as malformed, and it would validate
 * an OAuth form before the client is authenticated.
 *
 * One file past 300 lines on purpose: problem responses, OAuth errors, headers and security
 * schemes share one table of codes and headers (`HEADERS_OF`, `EXTENSIONS`), and the document is
 * only consistent while one module owns it.
 */

/** Any validator the library does run (path parameters) ends as the API's own 400, through `app.onError`. */
export const validationHook: Hook<any, any, any, any> = (result) => {
  if (!result.success) throw validationFailed(result.error as z.ZodError);
};

/** A sub-app whose routes are documented. `app.route()` merges a sub-app's routes only when it is one. */
export const openApiRoutes = <E extends Env>() => new OpenAPIHono<E>({ defaultHook: validationHook });

/** A schema as a request sees it (defaults optional, transforms not applied), in JSON Schema 2020-12. */
function inputSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", unrepresentable: "any" });
  return json;
}

/** The documented JSON body of a route whose handler reads it with `readJson(c, schema)`. */
export function jsonRequest(schema: z.ZodType, options: { required?: boolean; description?: string } = {}) {
  return {
    required: options.required ?? true,
    ...(options.description === undefined ? {} : { description: options.description }),
    content: { "application/json": { schema: inputSchema(schema) } },
  };
}

/** The documented form body of a route whose handler reads it with `readFormFields` and `parseWith(schema, …)`. */
export function formRequest(schema: z.ZodType) {
  return { required: true, content: { "application/x-www-form-urlencoded": { schema: inputSchema(schema) } } };
}

/** The documented query parameters of a route whose handler validates `c.req.query()` with `schema`. */
export function queryParameters(schema: z.ZodObject) {
  const json = inputSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, { description, ...property }]) => ({
    name,
    in: "query" as const,
    required: json.required?.includes(name) ?? false,
    ...(typeof description === "string" ? { description } : {}),
    schema: property,
  }));
}

// RFC 9457 problem details, exactly as `problemBody` writes them.
const FieldError = z
  .object({
    field: z.string().nullable().meta({ description: "The dotted path of the field, or null for the whole body" }),
    message: z.string().meta({ description: "A sentence naming the field and the rule it broke" }),
  })
  .strict()
  .meta({ id: "FieldError" });

/** Extension members (RFC 9457 §3.2) some codes add. */
const EXTENSIONS: Partial<Record<ErrorCode, Record<string, z.ZodType>>> = {
  validation_failed: { errors: z.array(FieldError).optional().meta({ description: "Every problem found; `detail` repeats the first" }) },
  session_limit_reached: { max_sessions: z.number().int().positive().meta({ description: "The account's limit of active sessions" }) },
  step_up_required: {
    max_age: z.number().int().positive().meta({ description: "RFC 9470 `max_age`: how recent, in seconds, the proof must be" }),
  },
  passkey_limit_reached: { max_passkeys: z.number().int().positive().meta({ description: "How many passkeys one account may hold" }) },
  // RFC 6749 §5.2: OAuth clients read `error`.
  invalid_client: { error: z.literal("invalid_client") },
  invalid_request: { error: z.literal("invalid_request") },
};

const pascal = (code: string) => code.replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());

/**
 * A code an operation may answer with, at its usual status or another (`invalid_dpop_proof` is 401
 * at a protected route and 400 at sign-in and the token endpoint, RFC 9449 §5, §7.1).
 */
export type Refusal = ErrorCode | readonly [ErrorCode, ContentfulStatusCode];
const codeOf = (refusal: Refusal): ErrorCode => (typeof refusal === "string" ? refusal : refusal[0]);
const statusOf = (refusal: Refusal): number => (typeof refusal === "string" ? errorTitles[refusal][0] : refusal[1]);

/** One component per code and status (`InvalidTokenProblem`, …): every member fixed but `detail`, as `problemBody` writes it. */
const problemOf = new Map<string, z.ZodObject>();
function codeProblem(code: ErrorCode, status: number): z.ZodObject {
  const key = `${code}:${status}`;
  let schema = problemOf.get(key);
  if (!schema) {
    const [usual, title] = errorTitles[code];
    schema = z
      .object({
        type: z.literal(`urn:edge-sessions:problem:${code}`),
        title: z.literal(title),
        status: z.literal(status),
        code: z.literal(code),
        detail: z.string().optional().meta({ description: "A sentence for a person; clients branch on `code`, never on this" }),
        ...EXTENSIONS[code],
      })
      .strict()
      .meta({ id: `${pascal(code)}${status === usual ? "" : status}Problem`, description: `RFC 9457 problem details: ${title}` });
    problemOf.set(key, schema);
  }
  return schema;
}

function problemSchema(codes: readonly ErrorCode[], status: number): z.ZodType {
  const [first, ...rest] = codes.map((code) => codeProblem(code, status));
  return rest.length === 0 ? first! : z.discriminatedUnion("code", [first!, ...rest]);
}

type HeaderObject = { description: string; required?: boolean; schema: { type: "string"; enum?: string[] } };
const string = { type: "string" } as const;

/** Each header a code's response carries, as `problemResponse` and the throwers set it; `always` unless said. */
const HEADERS_OF: Partial<Record<ErrorCode, Record<string, { text: string; always: boolean }>>> = {
  invalid_token: {
    "WWW-Authenticate": {
      text: 'RFC 6750 §3: `Bearer error="invalid_token"`; for a DPoP-bound token RFC 9449 §7.1 `DPoP error="invalid_token", algs="…"`',
      always: true,
    },
  },
  invalid_dpop_proof: { "WWW-Authenticate": { text: 'RFC 9449 §7.1: `DPoP error="invalid_dpop_proof", algs="…"` (at 401)', always: true } },
  use_dpop_nonce: {
    "WWW-Authenticate": { text: 'RFC 9449 §9: `DPoP error="use_dpop_nonce", algs="…"` (at 401)', always: true },
    "DPoP-Nonce": { text: "RFC 9449 §8: the nonce the next proof must carry", always: true },
  },
  // Not at the token endpoint, which serves public clients only (RFC 6749 §5.2 asks it where a client tried a scheme).
  invalid_client: {
    "WWW-Authenticate": {
      text: 'RFC 6749 §5.2: `Basic realm="edge-sessions", charset="UTF-8"` (introspection, revocation)',
      always: false,
    },
  },
  step_up_required: {
    "WWW-Authenticate": {
      text: 'RFC 9470 §3: `Bearer error="insufficient_user_authentication", max_age=…`: prove who you are again (POST /v1/auth/reauthenticate)',
      always: true,
    },
  },
  admin_unauthorized: { "WWW-Authenticate": { text: '`Bearer realm="admin"`', always: true } },
  rate_limited: { "Retry-After": { text: "Seconds until the window ends (RFC 9110 §10.2.3), at least 1", always: true } },
  registry_unavailable: { "Retry-After": { text: "`1`: the client may retry in a second", always: true } },
  service_unavailable: { "Retry-After": { text: "`1` when a store could not answer; absent while a setting is invalid", always: false } },
  dbsc_challenge: {
    "Secure-Session-Challenge": {
      text: 'W3C DBSC: `"<challenge>";id="<session identifier>"`, the challenge the next proof must sign',
      always: true,
    },
  },
  upgrade_required: { Upgrade: { text: "`websocket`", always: true } },
};

/** `Cache-Control: no-store`, on every problem and on every answer that carries tokens or account data. */
const NO_STORE_HEADER: HeaderObject = { description: "`no-store`", required: true, schema: { type: "string", enum: ["no-store"] } };
export const NO_STORE = { $ref: "#/components/headers/NoStore" } as const;
type Header = HeaderObject | typeof NO_STORE;

function problemHeaders(codes: readonly ErrorCode[], status: number): Record<string, Header> {
  const headers: Record<string, Header> = { "Cache-Control": NO_STORE };
  const carried = (code: ErrorCode) => Object.keys(HEADERS_OF[code] ?? {}).filter((name) => name !== "WWW-Authenticate" || status === 401);
  const names = new Set(codes.flatMap(carried));
  for (const name of names) {
    const carriers = codes.filter((code) => carried(code).includes(name));
    const description = carriers.map((code) => (codes.length > 1 ? `\`${code}\`: ` : "") + HEADERS_OF[code]![name]!.text).join("; ");
    // Required only when every code of the status always carries it (a 401 for a wrong password has none).
    const required = codes.every((code) => carried(code).includes(name) && HEADERS_OF[code]?.[name]?.always === true);
    headers[name] = { description, required, schema: string };
  }
  return headers;
}

/**
 * The problem+json responses of an operation: one per status, each listing exactly the `code`s it
 * can carry and the headers they bring. 500 `internal_error` is added to every operation.
 */
export function problems(...refusals: Refusal[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const refusal of [...refusals, "internal_error" as const]) {
    const status = statusOf(refusal);
    const group = byStatus.get(status) ?? [];
    if (!group.includes(codeOf(refusal))) byStatus.set(status, [...group, codeOf(refusal)]);
  }
  const responses: Record<
    number,
    { description: string; headers: Record<string, Header>; content: Record<string, { schema: z.ZodType }> }
  > = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    // A challenge belongs to a 401 (RFC 9110 §15.5.2); the same code at 400 (RFC 9449 §5) carries none.
    const headers = problemHeaders(group, status);
    responses[status] = {
      description: group.map((code) => `\`${code}\`: ${errorTitles[code][1]}`).join(". "),
      headers,
      content: { "application/problem+json": { schema: problemSchema(group, status) } },
    };
  }
  return responses;
}

/**
 * The errors of an operation under `/v1/oauth/` (RFC 6749 §5.2, RFC 9449 §5): `application/json`
 * `{ error, error_description, code }`, as src/worker/oauth/errors.ts writes them.
 */
export function oauthErrors(...refusals: Refusal[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const refusal of [...refusals, "internal_error" as const]) {
    const code = codeOf(refusal);
    const status = typeof refusal === "string" ? oauthStatusOf(code) : refusal[1];
    const group = byStatus.get(status) ?? [];
    if (!group.includes(code)) byStatus.set(status, [...group, code]);
  }
  const responses: Record<
    number,
    { description: string; headers: Record<string, Header>; content: Record<string, { schema: z.ZodType }> }
  > = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const errors = [...new Set(group.map(oauthErrorOf))];
    const schema = z
      .object({
        error: z.enum(errors as [string, ...string[]]).meta({ description: "RFC 6749 §5.2 / RFC 9449 error code" }),
        error_description: z.string().meta({ description: "A sentence for a person" }),
        code: z.enum(group as [ErrorCode, ...ErrorCode[]]).meta({ description: "The service's own stable code" }),
      })
      .strict();
    responses[status] = {
      description: group.map((code) => `\`${oauthErrorOf(code)}\` (\`${code}\`): ${errorTitles[code][1]}`).join(". "),
      headers: problemHeaders(group, status),
      content: { "application/json": { schema } },
    };
  }
  return responses;
}

export const SECURITY_SCHEMES = {
  bearer: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token (RFC 9068 `at+jwt`) from sign-in or refresh",
  },
  dpop: {
    type: "http",
    scheme: "DPoP",
    bearerFormat: "JWT",
    description: "RFC 9449: `Authorization: DPoP <access token>` with a `DPoP` proof header, for a session bound to a DPoP key",
  },
  refreshCookie: {
    type: "apiKey",
    in: "cookie",
    name: "__Host-refresh_token",
    description: "The refresh token in its `HttpOnly; Secure; SameSite=Strict; Path=/` cookie (cookie transport)",
  },
  clientSecretBasic: {
    type: "http",
    scheme: "basic",
    description:
      "OAuth client authentication, RFC 6749 §2.3.1 `client_secret_basic`. The other method accepted, `client_secret_post`, sends `client_id` and `client_secret` as form fields instead (never both)",
  },
  admin: { type: "http", scheme: "bearer", description: "The operator's `ADMIN_TOKEN`; without it set, the admin API answers 404" },
  adminCookie: {
    type: "apiKey",
    in: "cookie",
    name: "__Secure-admin_session",
    description: "The admin dashboard's signed cookie (`POST /admin/session`): `Path=/admin`, 30 minutes, HttpOnly, SameSite=Strict",
  },
} as const;

/**
 * Security requirements, typed wide: a literal array of several shapes breaks `createRoute`'s
 * inference of the handler's input.
 */
type Security = Record<string, string[]>[];
export const PUBLIC: Security = [];
/** An access token, as Bearer or, for a DPoP-bound session, as DPoP with its proof (RFC 9449 §7). */
export const ACCESS_TOKEN: Security = [{ bearer: [] }, { dpop: [] }];
/** What the access-token guard refuses with, at every protected route. */
export const ACCESS_TOKEN_REFUSALS = ["invalid_token", "invalid_dpop_proof", "use_dpop_nonce"] as const satisfies readonly ErrorCode[];
export const ADMIN: Security = [{ admin: [] }];
export const ADMIN_COOKIE: Security = [{ adminCookie: [] }];
/** An OAuth client: Basic, or `client_secret_post` in the form (which OpenAPI cannot name as a scheme). */
export const OAUTH_CLIENT: Security = [{ clientSecretBasic: [] }, {}];

/** The optional `DPoP` proof header (RFC 9449 §4): at sign-in it binds the new session; then every request of a bound session carries one. */
export const DPOP_PROOF_HEADER = z.object({
  DPoP: z.string().optional().meta({ description: "A DPoP proof JWT (`typ: dpop+jwt`) for this request's method and URL (RFC 9449 §4.2)" }),
});

/** Response headers of successes. */
export const SET_REFRESH_COOKIE: HeaderObject = {
  description: "With the cookie transport: `__Host-refresh_token=<token>; Max-Age=<seconds>; Path=/; HttpOnly; Secure; SameSite=Strict`",
  schema: string,
};
/** A sign-in's: the refresh cookie, and the device credential that makes this browser a known device. */
export const SIGN_IN_COOKIES: HeaderObject = {
  description:
    "With the cookie transport, two cookies: `__Host-refresh_token=<token>; Max-Age=<seconds>; Path=/; HttpOnly; Secure; SameSite=Strict` and `__Host-device_token=<credential>; Max-Age=<DEVICE_TOKEN_TTL_SECONDS>; Path=/; HttpOnly; Secure; SameSite=Strict` (docs/operations.md, device cookies)",
  schema: string,
};
export const CLEAR_REFRESH_COOKIE: HeaderObject = {
  description: "Clears the refresh cookie: `__Host-refresh_token=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict`",
  required: true,
  schema: string,
};

const DESCRIPTION = [
  "Device-aware sessions for JWT authentication. The prose reference, with examples and the guarantees, is docs/api.md.",
  "",
  "Every error is `application/problem+json` (RFC 9457); clients branch on `code`. Every problem carries `Cache-Control: no-store`.",
  "A body over 16 KiB gets 413 `payload_too_large`; a known path called with a method it does not answer gets 405",
  "`method_not_allowed` with `Allow`; an unknown path gets 404 `not_found`. Every `/v1` and `/.well-known` route answers",
  "503 `service_unavailable` while a setting is invalid. Every `/v1` answer carries `Cache-Control: no-store`, and every",
  "response `Strict-Transport-Security` (unless `STRICT_TRANSPORT_SECURITY` is `off`).",
].join("\n");

/** The document, from every route registered on `app` so far: build it after the last `app.route()`. */
export function openApiDocument(app: OpenAPIHono<any>) {
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "edge-sessions", version: "1", description: DESCRIPTION },
    servers: [{ url: "/", description: "The Worker that serves this document" }],
  });
  // Set, not registered: building the document twice never duplicates a scheme.
  document.components = { ...document.components, headers: { NoStore: NO_STORE_HEADER }, securitySchemes: { ...SECURITY_SCHEMES } };
  return document;
}
