import { createScheduledController, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { toApiError } from "../../src/worker/errors";
import { executionFailingD1, failWorkerD1AtExecution, INJECTED_FAULT_MARKER, type StatementFilter } from "../support/d1";
import { call, me, PASSWORD, refreshCookieOf, type SignedIn, signIn, signInOn, uniqueEmail } from "../support/http";
import { captureLogs, type LogLine } from "../support/logs";
import { breakRegistry, registry, registrySettled, registrySql, swapRegistryEnv } from "../support/registry";

afterEach(() => {
  vi.restoreAllMocks();
});

const admin = (path: string, method = "GET") => call(`/v1/admin${path}`, { method, token: env.ADMIN_TOKEN! });
const storedHash = async (userId: string) =>
  (await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(userId).first<{ password_hash: string }>())!.password_hash;

/** Secrets of the service itself: none may appear in a log line, whatever failed. */
function serviceSecrets(): string[] {
  const keys = JSON.parse(env.JWT_SIGNING_KEYS!) as { keys?: { d?: string }[] } | { d?: string }[];
  const list = Array.isArray(keys) ? keys : (keys.keys ?? []);
  return [
    env.REFRESH_TOKEN_SECRET!,
    env.ADMIN_TOKEN!,
    env.TEST_INTROSPECTION_CLIENT.secret,
    ...list.flatMap((key) => (key.d ? [key.d] : [])),
  ];
}

/**
 * The failure is logged, by class, at error level; and no line holds the injected error's message
 * (its marker, its SQL, its `params:` line), a password hash, or any of `secrets`. Checked against
 * what the fault really threw, so a leak would be seen: the error held the values it was bound with.
 */
function expectNoLeak(lines: LogLine[], thrown: string[], secrets: string[], boundInError: string[] = []) {
  expect(thrown.length, "the injected fault ran").toBeGreaterThan(0);
  for (const value of boundInError) expect(thrown.join("\n"), "the error quoted the bound value").toContain(value);
  const text = lines.map((line) => line.text).join("\n");
  expect(
    lines.some(
      (line) => line.level === "error" && /"msg":"(D1 call failed|D1 mirror failed|unhandled error|signup undo failed)/.test(line.text),
    ),
  ).toBe(true);
  expect(text).not.toContain(INJECTED_FAULT_MARKER);
  expect(text).not.toMatch(/Failed query|params:|pbkdf2_sha256|D1_ERROR/i);
  for (const secret of [...secrets, ...serviceSecrets()]) expect(text).not.toContain(secret);
}

/** 503 problem+json with `Retry-After`, never a 500, and no token or cookie. */
async function expectUnavailable(response: Response, code = "service_unavailable") {
  expect(response.status).toBe(503);
  expect(response.headers.get("Retry-After")).toBe("1");
  expect(refreshCookieOf(response)).toBeNull();
  const body = await response.text();
  expect(JSON.parse(body).code).toBe(code);
  expect(body).not.toMatch(/access_token|refresh_token|Failed query|INJECTED/);
}

/** Breaks the Worker's D1 for statements matching `when`, captures the logs, runs `send`, restores. */
async function duringFault(when: StatementFilter, send: () => Promise<Response>) {
  const lines = captureLogs();
  const fault = failWorkerD1AtExecution(when);
  const response = await send();
  vi.restoreAllMocks();
  return { lines, thrown: fault.thrown, response };
}
const secretsOf = (device: SignedIn) => [device.email, device.accessToken, device.refreshToken, PASSWORD];
const sessionRows = (userId: string) =>
  registrySql<{ id: string; revoked_at: number | null }>(userId, "SELECT id, revoked_at FROM sessions");

describe("D1 failing at execution writes no personal data, hash, token or secret to the logs (ASVS 5.0 V16.2.5)", () => {
  it("signup: the insert fails: 503, no account, and the email and new hash it was bound with are not logged", async () => {
    const email = uniqueEmail("leak-signup");
    const { lines, thrown, response } = await duringFault(
      (sql) => sql.startsWith('insert into "users"'),
      () => call("/v1/auth/signup", { method: "POST", json: { email, password: PASSWORD, token_transport: "body" } }),
    );
    await expectUnavailable(response);
    expectNoLeak(lines, thrown, [email, PASSWORD], [email, "pbkdf2_sha256$"]);
    expect(await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(email).first()).toBeNull();
  });

  it("signup: the registry fails and then the undo fails: 503, no token, nothing quoted from the failed delete", async () => {
    const email = uniqueEmail("leak-undo");
    breakRegistry(() => new Error("registry down (injected)"), ["signIn"]);
    const { lines, thrown, response } = await duringFault(
      (sql) => sql.startsWith('delete from "users"'),
      () => call("/v1/auth/signup", { method: "POST", json: { email, password: PASSWORD, token_transport: "body" } }),
    );
    await expectUnavailable(response, "registry_unavailable");
    expectNoLeak(lines, thrown, [email, PASSWORD]);
  });

  it("login: the account lookup fails: 503, no session started, the email is not logged", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const before = await sessionRows(laptop.userId);
    const { lines, thrown, response } = await duringFault(
      (sql) => sql.startsWith("select") && sql.includes('"users"."email"'),
      () => call("/v1/auth/login", { method: "POST", json: { email: laptop.email, password: PASSWORD, token_transport: "body" } }),
    );
    await expectUnavailable(response);
    expectNoLeak(lines, thrown, [...secretsOf(laptop), await storedHash(laptop.userId)], [laptop.email]);
    expect(await sessionRows(laptop.userId)).toEqual(before);
  });

  it("password change: the read of the account fails: 503, nothing signed out, the old password still works", async () => {
    const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
    const hash = await storedHash(laptop.userId);
    const json = { current_password: PASSWORD, new_password: "a passphrase never stored" };
    const { lines, thrown, response } = await duringFault(
      (sql) => sql.startsWith("select") && sql.includes('"users"."id"'),
      () => call("/v1/auth/password", { method: "POST", token: laptop.accessToken, json }),
    );
    await expectUnavailable(response);
    expectNoLeak(lines, thrown, [...secretsOf(laptop), ...secretsOf(phone), hash, json.new_password], [laptop.userId]);
    expect((await me(phone.accessToken)).status).toBe(200);
    expect(await storedHash(laptop.userId)).toBe(hash);
  });

  it("password change: the registry's write of the new hash fails: the change stands, the hash it was bound with is not logged, D1 gets it from the alarm", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const hash = await storedHash(laptop.userId);
    const json = { current_password: PASSWORD, new_password: "a passphrase stored later" };
    const { lines, thrown, response } = await duringFault(
      (sql) => sql.startsWith('update "users" set "password_hash"'),
      () => call("/v1/auth/password", { method: "POST", token: laptop.accessToken, json }),
    );
    // The registry decided; its outbox retries the D1 write (docs/storage-schema.md, "Crash consistency").
    expect(response.status).toBe(204);
    expectNoLeak(lines, thrown, [...secretsOf(laptop), hash, json.new_password], ["pbkdf2_sha256$"]);
    expect(await storedHash(laptop.userId)).toBe(hash);
    const oldPassword = await call("/v1/auth/login", { method: "POST", json: { email: laptop.email, password: PASSWORD } });
    expect(oldPassword.status).toBe(401);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect(await storedHash(laptop.userId)).not.toBe(hash);
    await signIn(laptop.email, "tablet", json.new_password);
  });

  it("GET /v1/me: the user read fails: 503, not a partial 200", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const { lines, thrown, response } = await duringFault(
      () => true,
      () => me(laptop.accessToken),
    );
    await expectUnavailable(response);
    expectNoLeak(lines, thrown, secretsOf(laptop), [laptop.userId]);
  });

  it("GET /v1/security-events: the history read fails: 503", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const { lines, thrown, response } = await duringFault(
      (sql) => sql.startsWith("select") && sql.includes('"security_events"'),
      () => call("/v1/security-events", { token: laptop.accessToken }),
    );
    await expectUnavailable(response);
    expectNoLeak(lines, thrown, secretsOf(laptop), [laptop.userId]);
  });

  it("admin: every read and write failing answers 503, and the searched email is not logged", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const secrets = [...secretsOf(laptop), await storedHash(laptop.userId)];
    const id = laptop.userId;
    const cases: [string, StatementFilter, () => Promise<Response>, string[]][] = [
      [
        "search by email",
        (sql) => sql.includes('"users"."email"'),
        () => admin(`/users?email=${encodeURIComponent(laptop.email)}`),
        [laptop.email],
      ],
      ["user by id", (sql) => sql.includes('"users"."id"'), () => admin(`/users/${id}`), [id]],
      ["session history", (sql) => sql.includes("from sessions where user_id"), () => admin(`/users/${id}/sessions?history=true`), [id]],
      ["stats", (sql) => sql.includes("from sessions"), () => admin("/stats"), []],
      [
        "search by q",
        (sql) => sql.includes('"users"."email"'),
        () => admin(`/users?q=${encodeURIComponent(laptop.email)}`),
        [laptop.email],
      ],
      ["dashboard", (sql) => sql.includes("from security_events"), () => admin("/dashboard"), []],
      ["events drill-down", (sql) => sql.includes("from security_events as e"), () => admin("/events?type=signed_in"), []],
      ["sessions drill-down", (sql) => sql.includes("from sessions as s"), () => admin("/sessions?state=live&country=NG"), ["NG"]],
      ["reconcile", (sql) => sql.startsWith("update sessions"), () => admin(`/users/${id}/reconcile`, "POST"), [id]],
    ];
    for (const [name, when, send, bound] of cases) {
      const { lines, thrown, response } = await duringFault(when, send);
      expect(response.status, name).toBe(503);
      await expectUnavailable(response);
      expectNoLeak(lines, thrown, secrets, bound);
    }
  });

  it("admin disable and enable: the registry's D1 write fails: nothing logged, sign-in refused meanwhile, D1 caught up by the alarm", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    const disabledAt = async () =>
      (await env.DB.prepare("SELECT disabled_at FROM users WHERE id = ?").bind(laptop.userId).first<{ disabled_at: number | null }>())!
        .disabled_at;
    const login = () => call("/v1/auth/login", { method: "POST", json: { email: laptop.email, password: PASSWORD } });
    const disabling = await duringFault(
      (sql) => sql.startsWith('update "users" set "disabled_at"'),
      () => admin(`/users/${laptop.userId}/disable`, "POST"),
    );
    // The registry disabled the account in one step; D1's copy follows from its outbox.
    expect(disabling.response.status).toBe(200);
    expectNoLeak(disabling.lines, disabling.thrown, secretsOf(laptop), [laptop.userId]);
    // Not half-open: the registry refuses the sign-in though D1 has not recorded the disable.
    expect((await login()).status).toBe(403);
    expect(await disabledAt()).toBeNull();
    await runDurableObjectAlarm(registry(laptop.userId));
    expect(await disabledAt()).toEqual(expect.any(Number));

    const enabling = await duringFault(
      (sql) => sql.startsWith('update "users" set "disabled_at"'),
      () => admin(`/users/${laptop.userId}/enable`, "POST"),
    );
    expect(enabling.response.status).toBe(200);
    expectNoLeak(enabling.lines, enabling.thrown, secretsOf(laptop), [laptop.userId]);
    // D1 still says disabled: login refuses (the safe side) until the alarm has written the enable.
    expect((await login()).status).toBe(403);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect((await login()).status).toBe(200);
  });

  it("the registry's mirror batch fails: the sign-in still works, the log names no IP, device or email, and D1 catches up", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    await registrySettled(laptop.userId);
    const fault = { thrown: [] as string[] };
    await swapRegistryEnv(laptop.userId, { DB: executionFailingD1(fault) });
    const lines = captureLogs();
    const ip = "2001:db8:beef:cafe::42";
    const userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const deviceName = "Ada's distinctive kitchen tablet";
    const response = await call("/v1/auth/login", {
      method: "POST",
      json: { email: laptop.email, password: PASSWORD, device_name: deviceName, token_transport: "body" },
      headers: { "CF-Connecting-IP": ip, "User-Agent": userAgent },
    });
    // The sign-in's D1 write follows its confirmation, which the Worker sends after the answer.
    await vi.waitFor(() => expect(fault.thrown.length).toBeGreaterThan(0));
    vi.restoreAllMocks();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { session: { id: string }; access_token: string; refresh_token: string };
    expectNoLeak(
      lines,
      fault.thrown,
      [...secretsOf(laptop), ip, userAgent, deviceName, body.access_token, body.refresh_token],
      [ip, deviceName],
    );

    await swapRegistryEnv(laptop.userId, null);
    await runDurableObjectAlarm(registry(laptop.userId));
    expect(await env.DB.prepare("SELECT ip FROM sessions WHERE id = ?").bind(body.session.id).first()).toEqual({ ip });
  });

  it("cleanup: the delete fails: the run fails, and the unhandled-error line holds stack frames, not the message", async () => {
    const { lines, thrown } = await duringFault(
      (sql) => sql.startsWith("delete"),
      async () => {
        await expect(worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env)).rejects.toThrow();
        return new Response(null);
      },
    );
    expectNoLeak(lines, thrown, []);
    const unhandled = lines.map((line) => JSON.parse(line.text)).find((line) => line.msg === "unhandled error");
    expect(unhandled).toMatchObject({ level: "error", error: "Error", frames: expect.stringMatching(/^\s+at /) });
  });
});

describe("the unhandled-error path (src/worker/errors.ts)", () => {
  it("should log a drizzle query error by class and stack frames only, never the query or its params, however many lines the message has", () => {
    const email = uniqueEmail("leak-unhandled");
    const hash = "pbkdf2_sha256$100000$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo";
    const lines = captureLogs();
    const error = new DrizzleQueryError(
      'insert into "users" ("email", "password_hash") values (?, ?)',
      [email, hash],
      new Error("D1_ERROR"),
    );
    expect(error.message).toContain(email);
    expect(toApiError(error).code).toBe("internal_error");
    vi.restoreAllMocks();
    const logged = lines.map((line) => line.text).join("\n");
    expect(JSON.parse(lines[0]!.text)).toMatchObject({ level: "error", msg: "unhandled error", error: "DrizzleQueryError" });
    expect(JSON.parse(lines[0]!.text).frames).toMatch(/^\s+at /);
    for (const leaked of [email, hash, "params:", "Failed query", "password_hash"]) expect(logged).not.toContain(leaked);
  });
});
