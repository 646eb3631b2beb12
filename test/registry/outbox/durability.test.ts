import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.useRealTimers();
});

import { call, expectProblem, me, refresh, signInOn } from "../../support/http";
import { registry } from "../../support/registry";

describe("revocation survives the registry being restarted", () => {
  it("should keep a revoked session revoked after the Durable Object is evicted", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect((await call(`/v1/sessions/${phone!.sessionId}`, { method: "DELETE", token: laptop!.accessToken })).status).toBe(204);
    await evictDurableObject(registry(laptop!.userId));
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    await expectProblem(await refresh(phone!.refreshToken), 401, "invalid_refresh_token");
    expect((await me(laptop!.accessToken)).status).toBe(200);
  });

  it("should keep a revoked session revoked after every Durable Object is aborted, and keep live ones live", async () => {
    const [laptop, phone, tablet] = await signInOn("laptop", "phone", "tablet");
    expect((await call("/v1/auth/logout", { method: "POST", token: phone!.accessToken })).status).toBe(204);
    await abortAllDurableObjects();
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
    expect((await me(laptop!.accessToken)).status).toBe(200);
    expect((await refresh(tablet!.refreshToken)).status).toBe(200);
  });

  it("should keep rotation state across an eviction: a grace retry gets the same successor, and later reuse ends the session", async () => {
    const [laptop] = await signInOn("laptop");
    const rotated = ((await (await refresh(laptop!.refreshToken)).json()) as any).refresh_token;
    await evictDurableObject(registry(laptop!.userId));
    const retried = ((await (await refresh(laptop!.refreshToken)).json()) as any).refresh_token;
    expect(retried).toBe(rotated);
    vi.useFakeTimers({ now: Date.now() + 11_000, toFake: ["Date"] });
    await evictDurableObject(registry(laptop!.userId));
    await expectProblem(await refresh(laptop!.refreshToken), 401, "invalid_refresh_token");
    await expectProblem(await refresh(rotated), 401, "invalid_refresh_token");
    await expectProblem(await me(laptop!.accessToken), 401, "invalid_token");
  });
});
