import { describe, expect, it } from "vitest";
import { call, signInOn } from "../../support/http";
import { document, held, validateResponse } from "../../support/openapi";

const SESSION = "/v1/sessions/{id}";
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const problem = (body: unknown, status: number, type = "application/problem+json") =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": type, "Cache-Control": "no-store" } });

describe("responses are held to docs/openapi.json", () => {
  it("should refuse a response that drifts from its documented status, headers, content type or body", async () => {
    const [laptop] = await signInOn("laptop");
    const good = (await (
      await call(`/v1/sessions/${laptop!.sessionId}`, { method: "PATCH", token: laptop!.accessToken, json: { name: "Work laptop" } })
    ).json()) as Record<string, unknown>;
    const notFound = { type: "urn:edge-sessions:problem:not_found", title: "Not found", status: 404, code: "not_found" };
    expect((await validateResponse(document, "patch", SESSION, json(good))).errors).toEqual([]);
    expect((await validateResponse(document, "patch", SESSION, problem(notFound, 404))).errors).toEqual([]);

    const drifts: Record<string, [string, string, Response, RegExp]> = {
      "an undocumented field": ["patch", SESSION, json({ ...good, bound_to: "none" }), /additionalProperties/],
      "a field of another type": ["patch", SESSION, json({ ...good, current: "yes" }), /#\/current type/],
      "a field gone": ["patch", SESSION, json({ ...good, expires_at: undefined }), /required.*expires_at/],
      "a malformed time": ["patch", SESSION, json({ ...good, created_at: "yesterday" }), /format/],
      "an undocumented status": ["patch", SESSION, json(good, 202), /status not documented/],
      "a problem sent as application/json": ["patch", SESSION, problem(notFound, 404, "application/json"), /Content-Type/],
      "a code its status does not carry": ["patch", SESSION, problem({ ...notFound, code: "invalid_token" }, 404), /code/],
      "a 401 without WWW-Authenticate": [
        "get",
        "/v1/me",
        problem(
          { ...notFound, status: 401, code: "invalid_token", title: "The access token is missing, invalid, expired or revoked" },
          401,
        ),
        /required header WWW-Authenticate missing/,
      ],
      "a body where none is documented": [
        "post",
        "/v1/oauth/revoke",
        json({ ok: true }, 200, { "Cache-Control": "no-store" }),
        /without a body/,
      ],
      "a problem without Cache-Control": [
        "patch",
        SESSION,
        new Response(JSON.stringify(notFound), { status: 404, headers: { "Content-Type": "application/problem+json" } }),
        /Cache-Control/,
      ],
    };
    for (const [label, [method, template, response, expected]] of Object.entries(drifts)) {
      const verdict = await validateResponse(document, method, template, response);
      expect(verdict.ok, label).toBe(false);
      expect(verdict.errors.join("\n"), label).toMatch(expected);
    }
  });

  it("should fail the test that receives a drifted response through call()", async () => {
    const request = new Request("https://auth.test/v1/me");
    await expect(held(request, json({ user: {} }))).rejects.toThrow(/drifted from docs\/openapi.json/);
  });
});
