import { describe, expect, it } from "vitest";
import { me, signUp } from "../../support/http";

describe("GET /v1/me", () => {
  it("should return the user and the calling session", async () => {
    const device = await signUp("phone");
    const response = await me(device.accessToken);
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.user).toEqual({ id: device.userId, email: device.email, created_at: expect.any(String) });
    expect(body.session).toMatchObject({ id: device.sessionId, current: true, device: { type: "mobile", os: "iOS" } });
  });
});
