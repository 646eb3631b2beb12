import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, expectProblem, me, PASSWORD, refresh, refreshCookieOf, type SignedIn, signIn, signInOn, uniqueEmail } from "../support/http";
import { expectOAuthError } from "../support/oauth";
import { document } from "../support/openapi";
import { registry } from "../support/registry";

afterEach(() => {
  vi.restoreAllMocks();
});

type Body = { body?: BodyInit; contentType?: string | null };
const json = (value: unknown): Body => ({ body: JSON.stringify(value) });
const text = (raw: string, contentType: string | null = "application/json"): Body => ({ body: raw, contentType });

/** Posts a raw body; `contentType: null` sends none at all. */
function post(path: string, { body, contentType = "application/json" }: Body, token?: string) {
  const headers: Record<string, string> = {};
  if (contentType !== null) headers["Content-Type"] = contentType;
  if (token) headers.Authorization = `Bearer ${token}`;
  const streaming = body instanceof ReadableStream;
  return call(path, { method: "POST", body, headers, ...(streaming ? { duplex: "half" } : {}) } as RequestInit);
}

async function d1Counts() {
  const users = await env.DB.prepare("SELECT count(*) AS n FROM users").first<{ n: number }>();
  const sessions = await env.DB.prepare("SELECT count(*) AS n FROM sessions").first<{ n: number }>();
  return { users: users!.n, sessions: sessions!.n };
}

async function registryState(userId: string) {
  return runInDurableObject(registry(userId), (_instance, state) =>
    state.storage.sql.exec("SELECT id, refresh_generation, revoked_at FROM sessions ORDER BY id").toArray(),
  );
}

/** Input refused with a 4xx problem+json and a stable code, with no cookie and no D1 error. */
async function expectRefused(label: string, response: Response, status: number, code: string) {
  expect(response.status, label).toBe(status);
  expect(response.headers.get("Content-Type"), label).toMatch(/^application\/problem\+json/);
  expect(((await response.json()) as { code: string }).code, label).toBe(code);
  expect(refreshCookieOf(response), label).toBeNull();
}

/** Input that is hostile whatever the route: each is refused as a 400 validation_failed. */
function hostileBodies(valid: Record<string, unknown>, stringFields: string[]): Record<string, Body> {
  const cases: Record<string, Body> = {
    "truncated JSON": text('{"email": "a@example.com", '),
    "not JSON": text("email=a@example.com&password=x"),
    "empty body with a JSON type": text(""),
    "JSON null": text("null"),
    "JSON array": json([valid]),
    "JSON string": json("a string"),
    "JSON number": text("42"),
    "valid JSON as text/plain": { ...json(valid), contentType: "text/plain" },
    "valid JSON as a form": { ...json(valid), contentType: "application/x-www-form-urlencoded" },
    "valid JSON with no Content-Type": { ...json(valid), contentType: null },
    "valid JSON as application/jsonx": { ...json(valid), contentType: "application/jsonx" },
    "empty object": json({}),
    "fields smuggled in __proto__": text(`{"__proto__": ${JSON.stringify(valid)}}`),
    "fields smuggled in constructor.prototype": json({ constructor: { prototype: valid } }),
  };
  for (const field of stringFields) {
    cases[`${field} missing`] = json(Object.fromEntries(Object.entries(valid).filter(([key]) => key !== field)));
    cases[`${field} null`] = json({ ...valid, [field]: null });
    cases[`${field} a number`] = json({ ...valid, [field]: 12345678 });
    cases[`${field} an array`] = json({ ...valid, [field]: [valid[field]] });
    cases[`${field} an object`] = json({ ...valid, [field]: { toString: valid[field] } });
    cases[`${field} a boolean`] = json({ ...valid, [field]: true });
    cases[`${field} of 100 KB`] = json({ ...valid, [field]: "a".repeat(10_000) });
  }
  return cases;
}

describe("hostile request bodies (ASVS V1.2/V2.2 input validation, V6.2)", () => {
  it("should refuse hostile signup bodies with 400 and store nothing", async () => {
    const before = await d1Counts();
    const valid = { email: uniqueEmail("bad"), password: PASSWORD, device_name: "Laptop", token_transport: "body" };
    const cases: Record<string, Body> = {
      ...hostileBodies(valid, ["email", "password"]),
      "email over 254 characters": json({ ...valid, email: `${"a".repeat(250)}@example.com` }),
      "password over 256 characters": json({ ...valid, password: "p".repeat(257) }),
      "device_name over 64 characters": json({ ...valid, device_name: "d".repeat(65) }),
      "email with a NUL": json({ ...valid, email: `a\u0000b@example.com` }),
      "email with a newline": json({ ...valid, email: `a@example.com\nBcc: x@example.com` }),
      "device_name with control characters": json({ ...valid, device_name: "Laptop\u0007\u001b[31m" }),
      "device_name with a lone surrogate": text(JSON.stringify({ ...valid, device_name: "Laptop" }).replace('"Laptop"', '"Lap\\ud800top"')),
      "email with a lone surrogate": text(JSON.stringify(valid).replace("@example", "\\udfff@example")),
      "password with a lone surrogate": text(JSON.stringify(valid).replace('"correct horse', '"\\ud800correct horse')),
      "device_name with a right-to-left override": json({ ...valid, device_name: "Invoice\u202Egpj.exe" }),
      "device_name with a directional isolate": json({ ...valid, device_name: "Phone\u2067evil\u2069" }),
      "email with a right-to-left override": json({ ...valid, email: `ab\u202Ec@example.com` }),
      "SQL in the email local part": json({ ...valid, email: "' OR '1'='1@example.com" }),
      "SQL after the email": json({ ...valid, email: "a@example.com'; DROP TABLE users; --" }),
      "token_transport not in the enum": json({ ...valid, token_transport: "url" }),
    };
    for (const [label, body] of Object.entries(cases))
      await expectRefused(label, await post("/v1/auth/signup", body), 400, "validation_failed");
    await expectRefused(
      "password under 15 characters",
      await post("/v1/auth/signup", json({ ...valid, password: "short" })),
      400,
      "weak_password",
    );
    expect(await d1Counts()).toEqual(before);
    // None of those created the account: the email is still free.
    expect((await post("/v1/auth/signup", json(valid))).status).toBe(201);
  });

  it("should refuse hostile login bodies with 400 (or a plain 401), and start no session", async () => {
    const [device] = await signInOn("laptop");
    const before = { d1: await d1Counts(), registry: await registryState(device!.userId) };
    const valid = { email: device!.email, password: PASSWORD, token_transport: "body" };
    const cases: Record<string, Body> = {
      ...hostileBodies(valid, ["email", "password"]),
      "password over 256 characters": json({ ...valid, password: "p".repeat(257) }),
      "empty password": json({ ...valid, password: "" }),
      "email with a NUL": json({ ...valid, email: `${device!.email}\u0000` }),
      "device_name with a right-to-left override": json({ ...valid, device_name: "Invoice\u202Egpj.exe" }),
      "SQL in the email local part": json({ ...valid, email: "' OR '1'='1@example.com" }),
    };
    for (const [label, body] of Object.entries(cases))
      await expectRefused(label, await post("/v1/auth/login", body), 400, "validation_failed");
    // SQL that is a syntactically valid email is just an unknown account: the same 401 as any other.
    for (const email of ["'or'1'-'1'--@example.com", `admin'--@example.com`, `"x'; DROP TABLE users;--"@example.com`]) {
      const response = await post("/v1/auth/login", json({ ...valid, email }));
      expect([400, 401], email).toContain(response.status);
      await expectRefused(email, response, response.status, response.status === 400 ? "validation_failed" : "invalid_credentials");
    }
    await expectRefused(
      "SQL as the password",
      await post("/v1/auth/login", json({ ...valid, password: "' OR '1'='1" })),
      401,
      "invalid_credentials",
    );
    expect(await d1Counts()).toEqual(before.d1);
    expect(await registryState(device!.userId)).toEqual(before.registry);
  });

  it("should not take a lone surrogate for the U+FFFD it encodes to when checking a password", async () => {
    // TextEncoder turns a lone surrogate into U+FFFD: without a well-formedness check, a password
    // containing U+FFFD would also be matched by other, different strings.
    const email = uniqueEmail("fffd");
    const password = "replacement \ufffd character passphrase";
    expect((await post("/v1/auth/signup", json({ email, password, token_transport: "body" }))).status).toBe(201);
    const lookalike = text(JSON.stringify({ email, password, token_transport: "body" }).replace("\ufffd", "\\ud800"));
    const response = await post("/v1/auth/login", lookalike);
    expect([400, 401]).toContain(response.status);
    expect((await post("/v1/auth/login", json({ email, password, token_transport: "body" }))).status).toBe(200);
  });

  it("should refuse hostile refresh bodies with 400, garbage tokens with 401, and rotate nothing", async () => {
    const [device] = await signInOn("laptop");
    const before = { d1: await d1Counts(), registry: await registryState(device!.userId) };
    const valid = { refresh_token: device!.refreshToken };
    const cases: Record<string, Body> = {
      ...hostileBodies(valid, ["refresh_token"]),
      "refresh_token over 512 characters": json({ refresh_token: `${device!.refreshToken}${"A".repeat(400)}` }),
    };
    delete cases["empty body with a JSON type"]; // no body at all means "use the cookie": a 401, below
    for (const [label, body] of Object.entries(cases))
      await expectRefused(label, await post("/v1/auth/refresh", body), 400, "validation_failed");
    for (const token of [
      "' OR '1'='1",
      `${device!.refreshToken}\u0000`,
      device!.refreshToken.replace("usr_", "usr\u202E"),
      "\ud800",
      "../../etc/passwd",
    ]) {
      await expectRefused(token, await post("/v1/auth/refresh", json({ refresh_token: token })), 401, "invalid_refresh_token");
    }
    await expectRefused("no body", await post("/v1/auth/refresh", text("", null)), 401, "invalid_refresh_token");
    expect(await d1Counts()).toEqual(before.d1);
    expect(await registryState(device!.userId)).toEqual(before.registry);
    // The genuine token was neither rotated nor revoked by any of it.
    expect((await refresh(device!.refreshToken)).status).toBe(200);
  });

  it("should refuse hostile password-change bodies with 400 and change nothing", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    const hashBefore = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
      .bind(laptop.userId)
      .first<string>("password_hash");
    const before = { d1: await d1Counts(), registry: await registryState(laptop.userId) };
    const valid = { current_password: PASSWORD, new_password: "a new passphrase here", sign_out_others: true };
    const cases: Record<string, Body> = {
      ...hostileBodies(valid, ["current_password", "new_password"]),
      "sign_out_others as a string": json({ ...valid, sign_out_others: "false" }),
      "sign_out_others null": json({ ...valid, sign_out_others: null }),
      "new_password over 256 characters": json({ ...valid, new_password: "p".repeat(257) }),
      "new_password with a lone surrogate": text(JSON.stringify(valid).replace('"a new', '"\\udc00a new')),
      "current_password with a lone surrogate": text(JSON.stringify(valid).replace('"correct', '"\\udc00correct')),
    };
    for (const [label, body] of Object.entries(cases))
      await expectRefused(label, await post("/v1/auth/password", body, laptop.accessToken), 400, "validation_failed");
    const short = json({ ...valid, new_password: "short" });
    await expectRefused("new_password too short", await post("/v1/auth/password", short, laptop.accessToken), 400, "weak_password");
    expect(await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(laptop.userId).first<string>("password_hash")).toBe(
      hashBefore,
    );
    expect(await d1Counts()).toEqual(before.d1);
    expect((await registryState(laptop.userId)).map((row) => row.revoked_at)).toEqual(before.registry.map((row) => row.revoked_at));
    expect((await me(phone.accessToken)).status).toBe(200);
    await signIn(laptop.email, "tablet", PASSWORD);
  });

  it("should leave Object.prototype untouched after __proto__ and constructor payloads on every route", async () => {
    const [device] = await signInOn("laptop");
    const payloads = [
      `{"__proto__": {"polluted": "yes"}, "email": "${uniqueEmail("proto")}", "password": "${PASSWORD}"}`,
      `{"constructor": {"prototype": {"polluted": "yes"}}, "email": "${uniqueEmail("ctor")}", "password": "${PASSWORD}"}`,
      `{"__proto__": {"polluted": "yes"}, "refresh_token": {"__proto__": {"polluted": "yes"}}}`,
      `{"__proto__": {"polluted": "yes", "sign_out_others": false}, "current_password": "${PASSWORD}", "new_password": {"constructor": {"prototype": {"polluted": "yes"}}}}`,
    ];
    for (const path of ["/v1/auth/signup", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/password"]) {
      for (const payload of payloads) {
        const response = await post(path, text(payload), device!.accessToken);
        expect(response.status, `${path} ${payload.slice(0, 30)}`).toBeLessThan(500);
        await response.body?.cancel();
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(Object.prototype).not.toHaveProperty("sign_out_others");
  });

  it("should refuse a body over the limit on every body route, with and without Content-Length", async () => {
    const [device] = await signInOn("laptop");
    const before = await d1Counts();
    const big = JSON.stringify({
      email: uniqueEmail("big"),
      password: PASSWORD,
      refresh_token: device!.refreshToken,
      current_password: PASSWORD,
      new_password: "x".repeat(20 * 1024),
    });
    const chunked = () =>
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < big.length; i += 1024) controller.enqueue(new TextEncoder().encode(big.slice(i, i + 1024)));
          controller.close();
        },
      });
    for (const path of ["/v1/auth/signup", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/password", "/v1/auth/logout"]) {
      await expectProblem(await post(path, text(big), device!.accessToken), 413, "payload_too_large");
      await expectProblem(await post(path, { body: chunked() }, device!.accessToken), 413, "payload_too_large");
    }
    expect(await d1Counts()).toEqual(before);
    expect((await me(device!.accessToken)).status).toBe(200);
    expect((await refresh(device!.refreshToken)).status).toBe(200);
  });

  it("should refuse a body over the limit on every operation whose method carries one, before it is routed", async () => {
    const [device] = await signInOn("laptop");
    const ids: Record<string, string> = { id: device!.sessionId, sid: device!.sessionId };
    const operations = Object.entries(document.paths).flatMap(([template, item]) =>
      Object.keys(item)
        .filter((method) => method !== "get")
        .map((method) => [method.toUpperCase(), template] as const),
    );
    expect(operations.length).toBeGreaterThan(15);
    for (const [method, template] of operations) {
      const path = template.replace(/\{([^}]+)\}/g, (_, name: string) =>
        template.startsWith("/v1/admin/") && name === "id" ? device!.userId : ids[name]!,
      );
      const response = await call(path, {
        method,
        body: "x".repeat(17_000),
        headers: { "Content-Type": "application/json" },
        token: device!.accessToken,
      });
      // Under /v1/oauth/ errors speak OAuth (RFC 6749 §5.2); everywhere else problem+json.
      if (template.startsWith("/v1/oauth/")) await expectOAuthError(response, 413, "invalid_request");
      else await expectProblem(response, 413, "payload_too_large");
    }
    expect((await me(device!.accessToken)).status).toBe(200);
  });
});
