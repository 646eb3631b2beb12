import { describe, expect, it } from "vitest";
import { history, login, PLACES, signedInFrom } from "../../support/devices";
import { call, signUp } from "../../support/http";

const refreshFrom = (refreshToken: string, cf: Record<string, unknown>) =>
  call("/v1/auth/refresh", { method: "POST", json: { refresh_token: refreshToken }, cf });

describe("a session that changes country or network between refreshes", () => {
  it("should record the change of country and ASN, and the impossible travel, when a Lagos session refreshes from Toronto", async () => {
    const account = await signUp();
    const lagos = await signedInFrom(await login(account.email, { cf: PLACES.lagos }), account.email);
    const response = await refreshFrom(lagos.refreshToken, PLACES.toronto);
    expect(response.status).toBe(200);

    const events = (await history(lagos.accessToken)).filter((event) => event.session_id === lagos.sessionId);
    const changed = events.find((event) => event.type === "session_network_changed");
    expect(changed?.details).toMatchObject({
      changed: ["country", "asn"],
      from: { country: "NG", asn: 29465 },
      to: { country: "CA", asn: 812 },
    });
    expect(events.map((event) => event.type)).toContain("impossible_travel");
    // The device list shows where the session was last used from.
    const { sessions } = (await (await call("/v1/sessions", { token: lagos.accessToken })).json()) as any;
    expect(sessions.find((s: any) => s.id === lagos.sessionId).location).toEqual({ country: "CA", region: "Ontario", city: "Toronto" });
  });

  it("should record nothing for a refresh from the same network, or from a request without geolocation", async () => {
    const account = await signUp();
    const lagos = await signedInFrom(await login(account.email, { cf: PLACES.lagos }), account.email);
    const next = (await (await refreshFrom(lagos.refreshToken, PLACES.lagos)).json()) as any;
    expect((await call("/v1/auth/refresh", { method: "POST", json: { refresh_token: next.refresh_token } })).status).toBe(200);
    const types = (await history(lagos.accessToken)).map((event) => event.type);
    expect(types).not.toContain("session_network_changed");
    expect(types).not.toContain("impossible_travel");
  });
});
