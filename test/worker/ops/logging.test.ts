import { afterEach, describe, expect, it, vi } from "vitest";
import { base64url } from "../../../src/shared/encoding";
import { hashRefreshToken, parseRefreshToken } from "../../../src/shared/refresh-token";
import { call, me, PASSWORD, refresh, refreshCookieOf, uniqueEmail } from "../../support/http";
import { captureLogs, type LogLine } from "../../support/logs";

afterEach(() => {
  vi.restoreAllMocks();
});

const requestLines = (lines: LogLine[]) =>
  lines.filter((l) => l.text.includes('"msg":"request"')).map((l) => JSON.parse(l.text) as Record<string, unknown>);

describe("request logs", () => {
  it("should write one JSON line per request with its id, route pattern, status, duration and the caller's ids", async () => {
    const lines = captureLogs();
    const email = uniqueEmail();
    const signup = await call("/v1/auth/signup", { method: "POST", json: { email, password: PASSWORD, token_transport: "body" } });
    const body = (await signup.json()) as { access_token: string; user: { id: string }; session: { id: string } };
    const mine = await me(body.access_token);
    await call("/v1/sessions/ses_AAAAAAAAAAAAAAAAAAAAAA", { method: "DELETE", token: body.access_token });

    const logged = requestLines(lines);
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({ method: "POST", route: "/v1/auth/signup", status: 201, user_id: null, session_id: null });
    expect(logged[1]).toMatchObject({ method: "GET", route: "/v1/me", status: 200, user_id: body.user.id, session_id: body.session.id });
    expect(logged[2]).toMatchObject({ method: "DELETE", route: "/v1/sessions/:id", status: 404 });
    for (const line of logged) expect(line.duration_ms).toEqual(expect.any(Number));
    expect(logged[1]!.request_id).toBe(mine.headers.get("X-Request-Id"));
    expect(signup.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("should keep a safe incoming X-Request-Id and replace an unsafe one", async () => {
    const safe = await call("/healthz", { headers: { "X-Request-Id": "edge-7f3a9c21" } });
    expect(safe.headers.get("X-Request-Id")).toBe("edge-7f3a9c21");
    for (const unsafe of ['x","level":"forged', "id with spaces", "a".repeat(200), "short"]) {
      const response = await call("/healthz", { headers: { "X-Request-Id": unsafe } });
      expect(response.headers.get("X-Request-Id")).not.toBe(unsafe);
      expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("should never log a password, a token, a cookie or a refresh hash through signup, login, refresh and logout", async () => {
    const lines = captureLogs();
    const email = uniqueEmail();
    const password = "a very distinctive passphrase 8c1e";
    const secrets: string[] = [password];
    const signup = await call("/v1/auth/signup", { method: "POST", json: { email, password, token_transport: "body" } });
    const first = (await signup.json()) as { access_token: string; refresh_token: string };
    secrets.push(first.access_token, first.refresh_token);
    await call("/v1/auth/login", { method: "POST", json: { email, password: "a wrong passphrase 1234" } });
    secrets.push("a wrong passphrase 1234");
    const login = await call("/v1/auth/login", { method: "POST", json: { email, password } }); // cookie transport
    const cookie = refreshCookieOf(login)!.value;
    secrets.push(((await login.json()) as { access_token: string }).access_token, cookie);
    const rotated = await call("/v1/auth/refresh", { method: "POST", cookie: `__Host-refresh_token=${cookie}` });
    secrets.push(refreshCookieOf(rotated)!.value);
    const viaBody = (await (await refresh(first.refresh_token)).json()) as { access_token: string; refresh_token: string };
    secrets.push(viaBody.access_token, viaBody.refresh_token);
    await call("/v1/auth/logout", { method: "POST", token: viaBody.access_token });

    let refreshTokens = 0;
    for (const token of [...secrets]) {
      const parsed = parseRefreshToken(token); // null for everything but refresh tokens
      if (!parsed) continue;
      refreshTokens++;
      const hash = await hashRefreshToken(parsed);
      secrets.push(base64url(hash), [...hash].map((b) => b.toString(16).padStart(2, "0")).join(""));
    }
    expect(refreshTokens).toBe(4);
    const output = lines.map((line) => line.text).join("\n");
    expect(requestLines(lines).length).toBeGreaterThanOrEqual(6);
    for (const secret of secrets) expect(output).not.toContain(secret);
    expect(output).not.toContain("__Host-refresh_token");
    expect(output).not.toContain(email); // not a secret, but personal data the access log has no need for
  });
});
