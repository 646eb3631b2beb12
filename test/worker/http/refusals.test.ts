import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, PASSWORD, signInOn, uniqueEmail } from "../../support/http";
import { basic, oauthPost, TEST_CLIENT } from "../../support/oauth";
import { upgrade } from "../../support/socket";

/**
 * The refusals of every route, as a client sees them: status, the headers a client acts on, and
 * the body. Recorded as a file so that a change to any of them (a routing library, a new error
 * map) shows up in review as a diff of `__snapshots__/refusals.json`, and is never silent.
 * Successes are recorded by their keys only: their values (ids, times, tokens) are new each run.
 */
const HEADERS = ["Content-Type", "Cache-Control", "WWW-Authenticate", "Allow", "Retry-After", "Upgrade"];

async function describeResponse(response: Response) {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  if (response.ok && body && typeof body === "object") body = { keys: Object.keys(body).sort() };
  const headers = Object.fromEntries(HEADERS.flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name)]] : [])));
  return { status: response.status, headers, body };
}

const jsonBodies: unknown[] = [{}, null, [], "str", 42];
const rawBodies: [string, string | undefined][] = [
  ["{not json", "application/json"],
  ['{"a":1}', undefined],
  ['{"a":1}', "text/plain"],
  ['{"a":1}', "application/x-www-form-urlencoded"],
  ["", "application/json"],
  ['{"a":1}', "application/merge-patch+json"],
  ['{"a":1}', "application/vnd.api.v2+json"],
  ['{"a":1}', "application/json ; charset=utf-8"],
  ['{"a":1}', "application/json;"],
];
const raw = (body: string, type: string | undefined): RequestInit => ({ body, headers: type ? { "Content-Type": type } : {} });

describe("refusals keep their shape", () => {
  it("should answer every refusal of every route exactly as recorded", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const token = laptop!.accessToken;
    const out: Record<string, unknown> = {};
    const record = async (label: string, response: Promise<Response>) => {
      out[label] = await describeResponse(await response);
    };
    const email = uniqueEmail("refusals");

    // Accounts: the JSON bodies.
    const signup = (json: unknown) => call("/v1/auth/signup", { method: "POST", json });
    for (const body of jsonBodies) await record(`signup json ${JSON.stringify(body)}`, signup(body));
    await record("signup bad email", signup({ email: "nope", password: PASSWORD, token_transport: "body" }));
    await record("signup short password", signup({ email, password: "short", token_transport: "body" }));
    await record("signup common password", signup({ email, password: "qwerty123456789", token_transport: "body" }));
    await record("signup long password", signup({ email, password: "p".repeat(257), token_transport: "body" }));
    await record("signup bad transport", signup({ email, password: PASSWORD, token_transport: "carrier-pigeon" }));
    await record("signup long device name", signup({ email, password: PASSWORD, token_transport: "body", device_name: "d".repeat(65) }));
    await record("signup control device name", signup({ email, password: PASSWORD, token_transport: "body", device_name: "a\u202eb" }));
    await record("signup empty device name", signup({ email, password: PASSWORD, token_transport: "body", device_name: "  " }));
    await record("signup email of numbers", signup({ email: 5, password: 5 }));
    await record("signup taken", signup({ email: laptop!.email, password: PASSWORD, token_transport: "body" }));
    await record(
      "signup cookie foreign origin",
      call("/v1/auth/signup", { method: "POST", json: { email, password: PASSWORD }, headers: { Origin: "https://evil.test" } }),
    );
    for (const [body, type] of rawBodies)
      await record(`signup raw ${type} ${body}`, call("/v1/auth/signup", { method: "POST", ...raw(body, type) }));
    await record(
      "signup vnd+json accepted",
      call("/v1/auth/signup", {
        method: "POST",
        body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD, token_transport: "body" }),
        headers: { "Content-Type": "application/vnd.api.v2+json" },
      }),
    );
    await record(
      "signup json; accepted",
      call("/v1/auth/signup", {
        method: "POST",
        body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD, token_transport: "body" }),
        headers: { "Content-Type": "application/json ; charset=utf-8" },
      }),
    );

    const login = (json: unknown) => call("/v1/auth/login", { method: "POST", json });
    for (const body of jsonBodies) await record(`login json ${JSON.stringify(body)}`, login(body));
    await record("login empty password", login({ email: laptop!.email, password: "" }));
    await record("login wrong password", login({ email: laptop!.email, password: `${PASSWORD}!`, token_transport: "body" }));
    for (const [body, type] of rawBodies)
      await record(`login raw ${type} ${body}`, call("/v1/auth/login", { method: "POST", ...raw(body, type) }));

    const refreshWith = (init: RequestInit & { json?: unknown; cookie?: string }) => call("/v1/auth/refresh", { method: "POST", ...init });
    await record("refresh nothing", refreshWith({}));
    for (const body of jsonBodies) await record(`refresh json ${JSON.stringify(body)}`, refreshWith({ json: body }));
    await record("refresh number", refreshWith({ json: { refresh_token: 5 } }));
    await record("refresh long", refreshWith({ json: { refresh_token: "r".repeat(513) } }));
    await record("refresh unknown", refreshWith({ json: { refresh_token: "r".repeat(40) } }));
    await record("refresh bad cookie", refreshWith({ cookie: "__Host-refresh_token=nope" }));
    await record(
      "refresh cookie foreign origin",
      refreshWith({ cookie: "__Host-refresh_token=nope", headers: { Origin: "https://evil.test" } }),
    );
    await record("refresh json type, empty body", refreshWith({ headers: { "Content-Type": "application/json" } }));
    for (const [body, type] of rawBodies) await record(`refresh raw ${type} ${body}`, refreshWith(raw(body, type)));

    await record("logout nothing", call("/v1/auth/logout", { method: "POST" }));
    await record("logout garbage token", call("/v1/auth/logout", { method: "POST", token: "garbage" }));
    await record(
      "logout cookie foreign origin",
      call("/v1/auth/logout", { method: "POST", cookie: "__Host-refresh_token=x", headers: { Origin: "https://evil.test" } }),
    );
    for (const path of [
      "/v1/auth/logout-others",
      "/v1/auth/logout-all",
      "/v1/auth/password",
      "/v1/me",
      "/v1/sessions",
      "/v1/security-events",
    ]) {
      const method = path.startsWith("/v1/auth") ? "POST" : "GET";
      await record(`${path} no token`, call(path, { method }));
      await record(`${path} garbage token`, call(path, { method, token: "garbage" }));
      await record(`${path} basic`, call(path, { method, headers: { Authorization: "Basic eDp5" } }));
    }

    const password = (json: unknown) => call("/v1/auth/password", { method: "POST", token, json });
    for (const body of jsonBodies) await record(`password json ${JSON.stringify(body)}`, password(body));
    await record("password short new", password({ current_password: PASSWORD, new_password: "short" }));
    await record("password common new", password({ current_password: PASSWORD, new_password: "1qaz2wsx3edc4rfv" }));
    await record("password wrong current", password({ current_password: `${PASSWORD}!`, new_password: `${PASSWORD}?` }));
    await record("password bad flag", password({ current_password: PASSWORD, new_password: `${PASSWORD}?`, sign_out_others: "yes" }));
    for (const [body, type] of rawBodies)
      await record(`password raw ${type} ${body}`, call("/v1/auth/password", { method: "POST", token, ...raw(body, type) }));

    // Sessions.
    const rename = (id: string, init: RequestInit & { json?: unknown }) => call(`/v1/sessions/${id}`, { method: "PATCH", token, ...init });
    for (const body of [...jsonBodies, { name: "" }, { name: "x".repeat(65) }, { name: "bad\u0000name" }, { name: 42 }]) {
      await record(`rename json ${JSON.stringify(body)}`, rename(phone!.sessionId, { json: body }));
    }
    for (const [body, type] of rawBodies) await record(`rename raw ${type} ${body}`, rename(phone!.sessionId, raw(body, type)));
    await record("rename bad id", rename("nonsense", { json: { name: "x" } }));
    await record("rename unknown id", rename("ses_AAAAAAAAAAAAAAAAAAAAAA", { json: { name: "x" } }));
    await record("rename no token", call(`/v1/sessions/${phone!.sessionId}`, { method: "PATCH", json: { name: "x" } }));
    await record("delete bad id", call("/v1/sessions/nonsense", { method: "DELETE", token }));
    await record("delete unknown id", call("/v1/sessions/ses_AAAAAAAAAAAAAAAAAAAAAA", { method: "DELETE", token }));
    await record("delete no token", call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE" }));

    // The security history's query.
    for (const query of [
      "limit=0",
      "limit=101",
      "limit=abc",
      "limit=2.5",
      "limit=5&limit=6",
      "cursor=nope",
      `cursor=${"c".repeat(201)}`,
      "cursor=",
    ]) {
      await record(`security-events ?${query}`, call(`/v1/security-events?${query}`, { token }));
    }

    // The live channel.
    await record("live no upgrade", call("/v1/sessions/live", { token }));
    await record("live no protocol", upgrade(token, ""));
    await record("live no bearer entry", upgrade(token, "sessions.v1"));
    await record("live no sessions.v1 entry", upgrade(token, `bearer.${token}`));
    await record("live garbage bearer", upgrade(token, "sessions.v1, bearer.garbage"));
    await record("live wrong protocol", upgrade(token, `chat, bearer.${token}`));

    // OAuth.
    for (const path of ["/v1/oauth/introspect", "/v1/oauth/revoke"] as const) {
      await record(`${path} no client`, oauthPost(path, { token }, null));
      await record(`${path} wrong secret`, oauthPost(path, { token }, basic(TEST_CLIENT.id, "wrong")));
      await record(`${path} both methods`, oauthPost(path, { token, client_id: TEST_CLIENT.id, client_secret: TEST_CLIENT.secret }));
      await record(`${path} no token`, oauthPost(path, {}));
      await record(`${path} empty token`, oauthPost(path, { token: "" }));
      await record(`${path} long token`, oauthPost(path, { token: "t".repeat(4097) }));
      await record(`${path} long hint`, oauthPost(path, { token, token_type_hint: "h".repeat(65) }));
      await record(
        `${path} json`,
        call(path, { method: "POST", json: { token }, headers: { Authorization: basic(TEST_CLIENT.id, TEST_CLIENT.secret) } }),
      );
      await record(
        `${path} repeated`,
        call(path, {
          method: "POST",
          body: "token=a&token=b",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: basic(TEST_CLIENT.id, TEST_CLIENT.secret) },
        }),
      );
      await record(`${path} garbage token`, oauthPost(path, { token: "garbage" }));
    }

    // Admin.
    const admin = (path: string, method = "GET", authorization = `Bearer ${env.ADMIN_TOKEN}`) =>
      call(`/v1/admin${path}`, { method, headers: { Authorization: authorization } });
    await record("admin no token", call("/v1/admin/stats"));
    await record("admin wrong token", admin("/stats", "GET", "Bearer wrong"));
    for (const query of [
      "",
      "?email=",
      "?email=nope",
      `?email=${"e".repeat(250)}@example.com`,
      "?email=a@example.com&email=b@example.com",
      "?email=nobody@example.com",
    ]) {
      await record(`admin users ${query}`, admin(`/users${query}`));
    }
    await record("admin user bad id", admin("/users/nonsense"));
    await record("admin user unknown", admin("/users/usr_AAAAAAAAAAAAAAAAAAAAAA"));
    await record("admin sessions history=yes", admin(`/users/${laptop!.userId}/sessions?history=yes`));
    await record("admin revoke bad sid", admin(`/users/${laptop!.userId}/sessions/nonsense`, "DELETE"));
    await record("admin revoke unknown sid", admin(`/users/${laptop!.userId}/sessions/ses_AAAAAAAAAAAAAAAAAAAAAA`, "DELETE"));
    for (const action of ["disable", "enable", "reconcile", "sessions/revoke-all"]) {
      await record(`admin ${action} unknown`, admin(`/users/usr_AAAAAAAAAAAAAAAAAAAAAA/${action}`, "POST"));
    }

    // Methods, unknown paths and the body limit.
    for (const [method, path] of [
      ["POST", "/"],
      ["POST", "/healthz"],
      ["POST", "/.well-known/jwks.json"],
      ["GET", "/v1/auth/login"],
      ["POST", "/v1/me"],
      ["GET", "/v1/sessions/x"],
      ["PUT", "/v1/sessions"],
      ["POST", "/v1/sessions/live"],
      ["GET", "/v1/oauth/introspect"],
      ["PUT", "/v1/security-events"],
      ["POST", "/v1/admin/stats"],
      ["GET", "/v1/admin/users/x/disable"],
      ["GET", "/v1/nothing"],
      ["GET", "/nothing"],
    ] as const) {
      await record(`${method} ${path}`, call(path, { method, headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    }
    await record("too large", call("/v1/auth/login", { method: "POST", json: { email: "a@example.com", password: "x".repeat(17_000) } }));

    await expect(`${JSON.stringify(out, null, 2)}\n`).toMatchFileSnapshot("./__snapshots__/refusals.json");
  });
});
