import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { expectProblem, signUp } from "../support/http";
import { clock, consumerApp, countingBinding, TOKENS, tokenFromUnknownKey } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("requireSession JWKS handling", () => {
  it("should read the JWKS once and reuse it across requests", async () => {
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, now: clock().now });
    const device = await signUp();
    for (let i = 0; i < 3; i++) expect((await request(device.accessToken)).status).toBe(200);
    expect(counts.fetch).toBe(1);
  });

  it("should re-read the JWKS for an unknown kid at most once per 30 s", async () => {
    const time = clock();
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, now: time.now });
    const device = await signUp();
    expect((await request(device.accessToken)).status).toBe(200);
    const forged = await tokenFromUnknownKey();
    time.advance(30_000);
    for (let i = 0; i < 5; i++) await expectProblem(await request(forged), 401, "invalid_token");
    expect(counts.fetch).toBe(2);
    time.advance(30_000);
    await expectProblem(await request(forged), 401, "invalid_token");
    expect(counts.fetch).toBe(3);
  });

  it("should answer 503 when no JWKS has ever been read", async () => {
    const { binding, state } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding });
    const device = await signUp();
    state.broken = true;
    await expectProblem(await request(device.accessToken), 503, "session_service_unavailable");
  });

  it("should ask the binding for the JWKS path, as JSON", async () => {
    const { binding, fetches } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding });
    expect((await request((await signUp()).accessToken)).status).toBe(200);
    expect(fetches).toHaveLength(1);
    expect(new URL(fetches[0]!.url).pathname).toBe("/.well-known/jwks.json");
    expect(fetches[0]!.accept).toBe("application/json");
  });

  it("should read the JWKS from jwksUrl, as JSON, when one is given", async () => {
    const asked: { url: string; accept: string | null }[] = [];
    // The Worker's outbound fetch, answered with the service's JWKS.
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      asked.push({ url: String(input), accept: new Headers(init?.headers).get("Accept") });
      return env.SESSION_SERVICE.fetch("https://edge-sessions.internal/.well-known/jwks.json");
    });
    const request = consumerApp({ mode: "stateless", jwksUrl: `${TOKENS.issuer}/.well-known/jwks.json` });
    expect((await request((await signUp()).accessToken)).status).toBe(200);
    expect(asked).toEqual([{ url: `${TOKENS.issuer}/.well-known/jwks.json`, accept: "application/json" }]);
  });

  it("should re-read the JWKS once its copy is max-age old (five minutes), and not before", async () => {
    const time = clock();
    const { binding, counts } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, now: time.now });
    const device = await signUp();
    expect((await request(device.accessToken)).status).toBe(200);
    time.advance(299_999);
    expect((await request(device.accessToken)).status).toBe(200);
    expect(counts.fetch).toBe(1);
    time.advance(1);
    expect((await request(device.accessToken)).status).toBe(200);
    expect(counts.fetch).toBe(2);
  });

  it("should keep verifying with the copy it holds when a re-read fails, and log the failure", async () => {
    const time = clock();
    const { binding, counts, state } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding, now: time.now });
    const device = await signUp();
    expect((await request(device.accessToken)).status).toBe(200);
    const logged: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void logged.push(String(line)));
    time.advance(300_000);
    state.jwksStatus = 500;
    expect((await request(device.accessToken)).status).toBe(200);
    // A failed re-read leaves the copy as old as it was: the next request tries again.
    state.broken = true;
    time.advance(1);
    expect((await request(device.accessToken)).status).toBe(200);
    expect(counts.fetch).toBe(3);
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      { level: "error", msg: "JWKS fetch failed", error: "Error: JWKS answered 500" },
      { level: "error", msg: "JWKS fetch failed", error: "Error: network connection lost" },
    ]);
  });

  it("should answer 503 when the JWKS answers with an error status and no copy is held", async () => {
    const { binding, state } = countingBinding();
    const request = consumerApp({ mode: "stateless", binding: () => binding });
    const device = await signUp();
    state.jwksStatus = 503;
    vi.spyOn(console, "error").mockImplementation(() => {});
    await expectProblem(await request(device.accessToken), 503, "session_service_unavailable");
  });
});
