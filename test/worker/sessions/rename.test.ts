import { describe, expect, it } from "vitest";
import { call, expectProblem, signInOn } from "../../support/http";

const rename = (token: string, sessionId: string, body: unknown) =>
  call(`/v1/sessions/${sessionId}`, { method: "PATCH", token, json: body });

describe("renaming a device", () => {
  it("should rename one of the caller's sessions and answer with the updated Session", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const response = await rename(laptop!.accessToken, phone!.sessionId, { name: "  Ada's phone  " });
    expect(response.status).toBe(200);
    const session = (await response.json()) as any;
    expect(session).toMatchObject({ id: phone!.sessionId, current: false, device: { name: "Ada's phone", os: "iOS", type: "mobile" } });
    expect(Object.keys(session).sort()).toEqual([
      "binding",
      "confirmed",
      "created_at",
      "current",
      "device",
      "expires_at",
      "id",
      "ip",
      "last_active_at",
      "location",
      "sign_in_method",
    ]);
    const { sessions } = (await (await call("/v1/sessions", { token: phone!.accessToken })).json()) as any;
    expect(sessions.find((s: any) => s.id === phone!.sessionId).device.name).toBe("Ada's phone");
  });

  it("should let a device rename itself, marked current", async () => {
    const [laptop] = await signInOn("laptop");
    const session = (await (await rename(laptop!.accessToken, laptop!.sessionId, { name: "Work laptop" })).json()) as any;
    expect(session).toMatchObject({ current: true, device: { name: "Work laptop" } });
  });

  it("should refuse an empty, a 10 KB, a control-character or a missing name with 400 validation_failed", async () => {
    const [laptop] = await signInOn("laptop");
    for (const body of [
      { name: "" },
      { name: "   " },
      { name: "x".repeat(10 * 1024) },
      { name: "a".repeat(65) },
      { name: "bad\u0000name" },
      { name: "line\nbreak" },
      { name: "\u202eevil" },
      {},
      { name: 42 },
    ]) {
      await expectProblem(await rename(laptop!.accessToken, laptop!.sessionId, body), 400, "validation_failed");
    }
    const { sessions } = (await (await call("/v1/sessions", { token: laptop!.accessToken })).json()) as any;
    expect(sessions[0].device.name).toBe("Chrome on Windows");
  });

  it("should answer 404 not_found for another user's session, an ended session or a malformed id", async () => {
    const [mine, other] = await signInOn("laptop", "phone");
    const [theirs] = await signInOn("tablet");
    await expectProblem(await rename(mine!.accessToken, theirs!.sessionId, { name: "Mine now" }), 404, "not_found");
    await call(`/v1/sessions/${other!.sessionId}`, { method: "DELETE", token: mine!.accessToken });
    await expectProblem(await rename(mine!.accessToken, other!.sessionId, { name: "Gone" }), 404, "not_found");
    await expectProblem(await rename(mine!.accessToken, "nonsense", { name: "Nope" }), 404, "not_found");
  });

  it("should refuse a rename without a live access token", async () => {
    const [laptop] = await signInOn("laptop");
    await expectProblem(await call(`/v1/sessions/${laptop!.sessionId}`, { method: "PATCH", json: { name: "x" } }), 401, "invalid_token");
    await call("/v1/auth/logout", { method: "POST", token: laptop!.accessToken });
    await expectProblem(await rename(laptop!.accessToken, laptop!.sessionId, { name: "x" }), 401, "invalid_token");
  });
});
