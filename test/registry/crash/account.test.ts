import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, me, PASSWORD, signInOn } from "../../support/http";
import { crashRegistry, holdRegistryD1, registry } from "../../support/registry";

/** Admin disable and enable cut off by a crash: the registry's flag and D1's end up the same, recorded once. */
const admin = (path: string) => call(`/v1/admin${path}`, { method: "POST", token: env.ADMIN_TOKEN! });
const login = (email: string) => call("/v1/auth/login", { method: "POST", json: { email, password: PASSWORD, token_transport: "body" } });
const d1DisabledAt = async (userId: string) =>
  (await env.DB.prepare("SELECT disabled_at FROM users WHERE id = ?").bind(userId).first<{ disabled_at: number | null }>())!.disabled_at;
const d1Types = async (userId: string) =>
  (await env.DB.prepare("SELECT type FROM security_events WHERE user_id = ? ORDER BY id").bind(userId).all<{ type: string }>()).results
    .map((row) => row.type)
    .filter((type) => type.startsWith("account_"));

describe("an admin disable cut off by a crash", () => {
  it("should leave the account disabled and bring D1's flag and history along from the alarm, once", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const userId = laptop!.userId;
    await runDurableObjectAlarm(registry(userId));
    const held = await holdRegistryD1(userId);
    const disabling = admin(`/users/${userId}/disable`);
    await held.reached();
    await crashRegistry(userId);
    await disabling.catch(() => undefined);
    for (const device of [laptop!, phone!]) await expectProblem(await me(device.accessToken), 401, "invalid_token");
    // D1 may still say enabled: the registry refuses all the same.
    await expectProblem(await login(laptop!.email), 403, "account_disabled");
    expect(await runDurableObjectAlarm(registry(userId))).toBe(true);
    expect(await d1DisabledAt(userId)).toEqual(expect.any(Number));
    // The operator repeats the call it never heard back from: nothing more happens, nothing more is recorded.
    const repeated = await admin(`/users/${userId}/disable`);
    expect(await repeated.json()).toMatchObject({ revoked: 0 });
    expect(await d1Types(userId)).toEqual(["account_disabled"]);
  });

  it("should let sign-in back in only once D1 has the enable the registry recorded before a crash", async () => {
    const [laptop] = await signInOn("laptop");
    const userId = laptop!.userId;
    expect((await admin(`/users/${userId}/disable`)).status).toBe(200);
    const held = await holdRegistryD1(userId);
    const enabling = admin(`/users/${userId}/enable`);
    await held.reached();
    await crashRegistry(userId);
    await enabling.catch(() => undefined);
    // D1 still says disabled: login refuses (the safe side) until the alarm has written it.
    await expectProblem(await login(laptop!.email), 403, "account_disabled");
    expect(await runDurableObjectAlarm(registry(userId))).toBe(true);
    expect(await d1DisabledAt(userId)).toBeNull();
    expect((await login(laptop!.email)).status).toBe(200);
    expect(await d1Types(userId)).toEqual(["account_disabled", "account_enabled"]);
  });
});
