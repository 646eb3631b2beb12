import { afterEach, describe, expect, it, vi } from "vitest";
import { history, login, PLACES, signedInFrom } from "../../support/devices";
import { signUp } from "../../support/http";

afterEach(() => {
  vi.useRealTimers();
});

describe("impossible travel", () => {
  it("should flag a sign-in from Toronto ten minutes after one from Lagos, with the distance and speed as evidence", async () => {
    const account = await signUp();
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    await signedInFrom(await login(account.email, { cf: PLACES.lagos }), account.email);
    vi.setSystemTime(start + 10 * 60_000);
    const toronto = await signedInFrom(await login(account.email, { cf: PLACES.toronto }), account.email);

    const flagged = (await history(toronto.accessToken)).filter((event) => event.type === "impossible_travel");
    expect(flagged).toHaveLength(1);
    expect(flagged[0]!.session_id).toBe(toronto.sessionId);
    const evidence = flagged[0]!.details;
    expect(evidence.from).toMatchObject({ country: "NG", city: "Lagos" });
    expect(evidence.to).toMatchObject({ country: "CA", city: "Toronto" });
    expect(evidence.distance_km).toBeGreaterThan(8500);
    expect(evidence.distance_km).toBeLessThan(9000);
    expect(evidence.elapsed_seconds).toBe(600);
    expect(evidence.speed_kmh).toBeGreaterThan(50_000);
    expect(evidence.limit_kmh).toBe(1000);
    expect(new Date(evidence.to.at).getTime() - new Date(evidence.from.at).getTime()).toBe(600_000);
  });

  it("should not flag a sign-in from Abuja a day after one from Lagos", async () => {
    const account = await signUp();
    const start = Date.now();
    vi.useFakeTimers({ now: start, toFake: ["Date"] });
    await signedInFrom(await login(account.email, { cf: PLACES.lagos }), account.email);
    vi.setSystemTime(start + 86_400_000);
    const abuja = await signedInFrom(await login(account.email, { cf: PLACES.abuja }), account.email);

    const events = await history(abuja.accessToken);
    expect(events.filter((event) => event.type === "signed_in")).toHaveLength(3);
    expect(events.map((event) => event.type)).not.toContain("impossible_travel");
  });
});
