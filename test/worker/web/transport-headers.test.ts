import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../src/worker/app";
import { call, ORIGIN, signUp } from "../../support/http";
import { document, held } from "../../support/openapi";
import { registerPasskey } from "../../support/passkeys";

/**
 * Issue 12 item 6: no cache keeps an authenticated answer (ASVS 5.0 V14.3.2), and every response
 * asks for HTTPS from now on (RFC 6797), unless STRICT_TRANSPORT_SECURITY is "off".
 */
const HSTS = "max-age=31536000; includeSubDomains";

describe("Cache-Control: no-store on authenticated answers", () => {
  it("should send no-store on the successful reads of every authenticated route", async () => {
    const device = await signUp();
    await registerPasskey(device);
    const admin = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };
    const reads: [string, Parameters<typeof call>[1]][] = [
      ["/v1/me", { token: device.accessToken }],
      ["/v1/sessions", { token: device.accessToken }],
      ["/v1/security-events", { token: device.accessToken }],
      ["/v1/passkeys", { token: device.accessToken }],
      [`/v1/sessions/${device.sessionId}`, { method: "PATCH", token: device.accessToken, json: { name: "Work laptop" } }],
      [`/v1/admin/users?email=${encodeURIComponent(device.email)}`, { headers: admin }],
      [`/v1/admin/users/${device.userId}`, { headers: admin }],
      [`/v1/admin/users/${device.userId}/sessions`, { headers: admin }],
      ["/v1/admin/stats", { headers: admin }],
      ["/v1/auth/logout-others", { method: "POST", token: device.accessToken }],
    ];
    for (const [path, init] of reads) {
      const response = await call(path, init);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("Cache-Control"), path).toBe("no-store");
      await response.body?.cancel();
    }
  });

  it("should send no-store on every answer of every documented /v1 operation", async () => {
    const device = await signUp();
    const ids: Record<string, string> = { id: device.sessionId, sid: device.sessionId };
    // Reads first, so they answer 200 before a logout or a DELETE ends the session.
    const operations = Object.entries(document.paths)
      .flatMap(([template, item]) =>
        template.startsWith("/v1/") ? Object.keys(item).map((method) => [method.toUpperCase(), template] as const) : [],
      )
      .sort(([a], [b]) => Number(b === "GET") - Number(a === "GET"));
    expect(operations.length).toBeGreaterThan(20);
    let succeeded = 0;
    for (const [method, template] of operations) {
      const admin = template.startsWith("/v1/admin/");
      const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => (admin && name === "id" ? device.userId : ids[name]!));
      const response = await call(path, {
        method,
        ...(method === "GET" || method === "DELETE" ? {} : { json: {} }),
        ...(admin ? { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } } : { token: device.accessToken }),
      });
      expect(response.headers.get("Cache-Control"), `${method} ${template} ${response.status}`).toBe("no-store");
      if (response.ok) succeeded++;
      await response.body?.cancel();
    }
    // Not only refusals (which always carried no-store): the sweep reached real answers.
    expect(succeeded).toBeGreaterThan(5);
  });
});

describe("Strict-Transport-Security", () => {
  const everywhere = ["/", "/healthz", "/openapi.json", "/.well-known/jwks.json", "/v1/me", "/v1/nothing-here", "/nothing-here"];

  it("should send HSTS on every response: pages, public documents, API answers and errors", async () => {
    for (const path of everywhere) {
      const response = await call(path);
      expect(response.headers.get("Strict-Transport-Security"), path).toBe(HSTS);
      await response.body?.cancel();
    }
    const device = await signUp();
    const me = await call("/v1/me", { token: device.accessToken });
    expect(me.headers.get("Strict-Transport-Security")).toBe(HSTS);
  });

  it("should send none when STRICT_TRANSPORT_SECURITY is off, for plain-HTTP local work", async () => {
    const off = { ...env, STRICT_TRANSPORT_SECURITY: "off" } as Env;
    for (const path of everywhere) {
      const request = new Request(`${ORIGIN}${path}`);
      const response = await held(request, await app.fetch(request, off, createExecutionContext()));
      expect(response.status, path).toBeLessThan(500);
      expect(response.headers.has("Strict-Transport-Security"), path).toBe(false);
      await response.body?.cancel();
    }
  });
});
