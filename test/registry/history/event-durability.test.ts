import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionRegistry } from "../../../src/registry/session-registry";
import { history } from "../../support/devices";
import { expectProblem, refresh, signInOn } from "../../support/http";
import { registry, setRegistryD1 } from "../../support/registry";

afterEach(() => {
  vi.useRealTimers();
});

describe("security events while D1 is down", () => {
  it("should keep a reuse event in the registry while D1 fails, and land it in the history on the next alarm", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    expect((await refresh(phone!.refreshToken)).status).toBe(200);
    await setRegistryD1(laptop!.userId, true);
    vi.useFakeTimers({ now: Date.now() + 11_000, toFake: ["Date"] });
    await expectProblem(await refresh(phone!.refreshToken), 401, "invalid_refresh_token");
    expect((await history(laptop!.accessToken)).map((e) => e.type)).not.toContain("refresh_token_reuse");

    await runDurableObjectAlarm(registry(laptop!.userId)); // still down: nothing is lost
    await setRegistryD1(laptop!.userId, false);
    await runDurableObjectAlarm(registry(laptop!.userId));
    const types = (await history(laptop!.accessToken)).map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(["session_revoked", "refresh_token_reuse"]);
    // Mirrored events leave the registry's table; D1 is the history of record.
    const left = await runInDurableObject(
      registry(laptop!.userId),
      (instance: SessionRegistry) =>
        (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql.exec("SELECT count(*) AS n FROM events").one().n,
    );
    expect(left).toBe(0);
  });
});
