import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../../src/index";
import { freshIp, ORIGIN, signUp } from "../../support/http";
import { captureLogs } from "../../support/logs";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A request whose body stream fails after its first chunk, as workerd's does when the client hangs
 * up mid-body ("Network connection lost."). It is handed to the Worker's own fetch handler: through
 * a service binding (`exports.default`) the runtime ends the body early instead of failing it, so
 * the Worker would see a short body, never the failed read a real disconnect gives.
 */
function hangingUp(path: string, contentType: string, headers: Record<string, string>) {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(new Error("Network connection lost."));
      sent = true;
      controller.enqueue(new TextEncoder().encode(contentType.includes("json") ? '{"email":"someone@example.com",' : "token=abc"));
    },
  });
  const init = {
    method: "POST",
    body,
    duplex: "half",
    headers: { "Content-Type": contentType, "CF-Connecting-IP": freshIp(), ...headers },
  };
  return new Request(`${ORIGIN}${path}`, init as RequestInit);
}

describe("a client that hangs up mid-body (RFC 9112 §8: an incomplete message)", () => {
  it("should answer 400 with no 500 and no error-level log, on every body route, chunked or with a Content-Length", async () => {
    const device = await signUp();
    const routes: [string, string, Record<string, string>][] = [
      ["/v1/auth/signup", "application/json", {}],
      ["/v1/auth/login", "application/json", {}],
      ["/v1/auth/refresh", "application/json", {}],
      ["/v1/auth/password", "application/json", { Authorization: `Bearer ${device.accessToken}` }],
      ["/v1/oauth/introspect", "application/x-www-form-urlencoded", {}],
      ["/v1/oauth/revoke", "application/x-www-form-urlencoded", {}],
    ];
    for (const [path, contentType, headers] of routes) {
      // Chunked: hono's bodyLimit reads the body itself; with a length: the route's own read does.
      for (const length of [{}, { "Content-Length": "200" }] as Record<string, string>[]) {
        const lines = captureLogs();
        const ctx = createExecutionContext();
        const response = await worker.fetch(hangingUp(path, contentType, { ...headers, ...length }), env, ctx);
        await waitOnExecutionContext(ctx);
        vi.restoreAllMocks();
        const where = `${path} ${JSON.stringify(length)}`;
        expect(response.status, where).toBe(400);
        expect(((await response.json()) as { code: string }).code, where).toBe("validation_failed");
        expect(
          lines.filter((entry) => entry.level === "error" || entry.level === "warn"),
          where,
        ).toEqual([]);
        expect(lines.map((entry) => JSON.parse(entry.text).msg)).toContain("client hung up mid-body");
        expect(lines.some((entry) => entry.text.includes("Network connection lost"))).toBe(false);
      }
    }
  });
});
