import { describe, expect, it } from "vitest";
import { UNKNOWN_PLACE } from "../../../src/contract/place";
import { RefreshWindows } from "../../../src/registry/rotation";
import { me, refresh, type SignedIn, signUp } from "../../support/http";
import { registry } from "../../support/registry";

/** The per-session refresh limit's windows (src/registry/rotation.ts), with the clock a number. */
describe("the refresh windows of a registry", () => {
  const limits = { limit: 2, windowMs: 60_000 };

  it("should count refreshes per session in a fixed window, and say how long until it ends", () => {
    const windows = new RefreshWindows();
    expect(windows.count("ses_a", 0, limits)).toBeNull();
    expect(windows.count("ses_a", 1, limits)).toBeNull();
    expect(windows.count("ses_a", 2, limits)).toEqual({ ok: false, code: "rate_limited", retryAfterSeconds: 60 });
    expect(windows.count("ses_b", 2, limits)).toBeNull();
    // Rounded up, never below one second.
    expect(windows.count("ses_a", 58_500, limits)).toMatchObject({ retryAfterSeconds: 2 });
    expect(windows.count("ses_a", 59_999, limits)).toMatchObject({ retryAfterSeconds: 1 });
    // The window ends at its start + windowMs: a new one begins exactly then.
    expect(windows.count("ses_a", 60_000, limits)).toBeNull();
  });

  it("should forget only the windows that have ended", () => {
    const windows = new RefreshWindows();
    windows.count("ses_ended", 0, limits);
    windows.count("ses_full", 30_000, limits);
    windows.count("ses_full", 30_000, limits);
    // ses_ended's window ends at 60 000 exactly: forgotten then, so memory holds only live windows.
    windows.forgetEnded(60_000);
    expect(windows.size).toBe(1);
    expect(windows.count("ses_full", 60_000, limits)).toMatchObject({ code: "rate_limited" });
    windows.forgetEnded(90_000);
    expect(windows.size).toBe(0);
    expect(windows.count("ses_full", 90_000, limits)).toBeNull();
  });
});

describe("a genuine refresh token presented to another user's registry", () => {
  it("should be refused, and end nothing, by a registry that is not its user's", async () => {
    const owner: SignedIn = await signUp();
    const other: SignedIn = await signUp();
    expect(await registry(other.userId).refresh(owner.refreshToken, UNKNOWN_PLACE)).toMatchObject({
      ok: false,
      code: "invalid_refresh_token",
    });
    expect(await registry(other.userId).signOutByRefreshToken(owner.refreshToken)).toEqual({ ok: true, revoked: 0 });
    expect((await me(owner.accessToken)).status).toBe(200);
    expect((await refresh(owner.refreshToken)).status).toBe(200);
  });
});
