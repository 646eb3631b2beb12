import { type Hook, OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "hono";
import { z } from "zod";
import { type ErrorCode, errorTitles } from "../errors";
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
  // RFC 6749 §5.2: OAuth clients read `error`.
  invalid_client: { error: z.literal("invalid_client") },
  invalid_request: { error: z.literal("invalid_request") },
};

const pascal = (code: string) => code.replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());

/** One component per code (`InvalidTokenProblem`, …): every member fixed but `detail`, as `problemBody` writes it. */
const problemOf = new Map<ErrorCode, z.ZodObject>();
function codeProblem(code: ErrorCode): z.ZodObject {
  let schema = problemOf.get(code);
  if (!schema) {
    const [status, title] = errorTitles[code];
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
      .meta({ id: `${pascal(code)}Problem`, description: `RFC 9457 problem details: ${title}` });
    problemOf.set(code, schema);
  }
  return schema;
}

function problemSchema(codes: readonly ErrorCode[]): z.ZodType {
  const [first, ...rest] = codes.map(codeProblem);
  return rest.length === 0 ? first! : z.discriminatedUnion("code", [first!, ...rest]);
}

type HeaderObject = { description: string; required?: boolean; schema: { type: "string"; enum?: string[] } };
const string = { type: "string" } as const;

/** Each header a code's response carries, as `problemResponse` and the throwers set it; `always` unless said. */
const HEADERS_OF: Partial<Record<ErrorCode, Record<string, { text: string; always: boolean }>>> = {
  invalid_token: { "WWW-Authenticate": { text: 'RFC 6750 §3: `Bearer error="invalid_token"`', always: true } },
  invalid_client: { "WWW-Authenticate": { text: 'RFC 6749 §5.2: `Basic realm="edge-sessions", charset="UTF-8"`', always: true } },
  admin_unauthorized: { "WWW-Authenticate": { text: '`Bearer realm="admin"`', always: true } },
  rate_limited: { "Retry-After": { text: "Seconds until the window ends (RFC 9110 §10.2.3), at least 1", always: true } },
  registry_unavailable: { "Retry-After": { text: "`1`: the client may retry in a second", always: true } },
  service_unavailable: { "Retry-After": { text: "`1` when a store could not answer; absent while a setting is invalid", always: false } },
  upgrade_required: { Upgrade: { text: "`websocket`", always: true } },
};

/** `Cache-Control: no-store`, on every problem and on every answer that carries tokens or account data. */
const NO_STORE_HEADER: HeaderObject = { description: "`no-store`", required: true, schema: { type: "string", enum: ["no-store"] } };
export const NO_STORE = { $ref: "#/components/headers/NoStore" } as const;
type Header = HeaderObject | typeof NO_STORE;

function problemHeaders(codes: readonly ErrorCode[]): Record<string, Header> {
  const headers: Record<string, Header> = { "Cache-Control": NO_STORE };
  const names = new Set(codes.flatMap((code) => Object.keys(HEADERS_OF[code] ?? {})));
  for (const name of names) {
    const carriers = codes.filter((code) => HEADERS_OF[code]?.[name] !== undefined);
    const description = carriers.map((code) => (codes.length > 1 ? `\`${code}\`: ` : "") + HEADERS_OF[code]![name]!.text).join("; ");
    // Required only when every code of the status always carries it (a 401 for a wrong password has none).
    const required = codes.every((code) => HEADERS_OF[code]?.[name]?.always === true);
    headers[name] = { description, required, schema: string };
  }
  return headers;
}

/**
 * The problem+json responses of an operation: one per status, each listing exactly the `code`s it
 * can carry and the headers they bring. 500 `internal_error` is added to every operation.
 */
export function problems(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...codes, "internal_error"])) {
    const [status] = errorTitles[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<
    number,
    { description: string; headers: Record<string, Header>; content: Record<string, { schema: z.ZodType }> }
  > = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: group.map((code) => `\`${code}\`: ${errorTitles[code][1]}`).join(". "),
      headers: problemHeaders(group),
      content: { "application/problem+json": { schema: problemSchema(group) } },
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
    description: "RFC 9449: `Authorization: DPoP <access token>` with a `DPoP` proof header. Declared for the DPoP-bound sessions to come",
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
} as const;

/**
 * Security requirements, typed wide: a literal array of several shapes breaks `createRoute`'s
 * inference of the handler's input.
 */
type Security = Record<string, string[]>[];
export const PUBLIC: Security = [];
export const ACCESS_TOKEN: Security = [{ bearer: [] }];
export const ADMIN: Security = [{ admin: [] }];
/** An OAuth client: Basic, or `client_secret_post` in the form (which OpenAPI cannot name as a scheme). */
export const OAUTH_CLIENT: Security = [{ clientSecretBasic: [] }, {}];

/** Response headers of successes. */
export const SET_REFRESH_COOKIE: HeaderObject = {
  description: "With the cookie transport: `__Host-refresh_token=<token>; Max-Age=<seconds>; Path=/; HttpOnly; Secure; SameSite=Strict`",
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
  "503 `service_unavailable` while a setting is invalid.",
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
