import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, me, PASSWORD, refresh, signInOn } from "../../support/http";
import { registry, setRegistryD1 } from "../../support/registry";

const admin = (path: string, method = "GET") => call(`/v1/admin${path}`, { method, token: env.ADMIN_TOKEN! });
const login = (email: string, password = PASSWORD) =>
  call("/v1/auth/login", { method: "POST", json: { email, password, token_transport: "body" } });

describe("disabling a user", () => {
  it("should stop every device of a disabled user on its next request, and refuse sign-in until enabled", async () => {
    const [laptop, phone] = await signInOn("laptop", "phone");
    const disabled = await admin(`/users/${laptop!.userId}/disable`, "POST");
    expect(disabled.status).toBe(200);
    expect(await disabled.json()).toMatchObject({ revoked: 2, user: { id: laptop!.userId, disabled_at: expect.any(String) } });

    for (const device of [laptop!, phone!]) {
      await expectProblem(await me(device.accessToken), 401, "invalid_token");
      await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
    }
    // The right password learns the account is disabled; a wrong one learns nothing new.
    await expectProblem(await login(laptop!.email), 403, "account_disabled");
    await expectProblem(await login(laptop!.email, "not the password"), 401, "invalid_credentials");
    expect(await (await admin(`/users/${laptop!.userId}/sessions`)).json()).toEqual({ sessions: [] });

    expect((await admin(`/users/${laptop!.userId}/enable`, "POST")).status).toBe(200);
    expect((await login(laptop!.email)).status).toBe(200);
    // Enabling does not bring old sessions back.
    await expectProblem(await me(phone!.accessToken), 401, "invalid_token");
  });

  it("should refuse new sessions from the registry's flag alone, before D1 knows", async () => {
    const [laptop] = await signInOn("laptop");
    // D1 does not learn of it (the registry's outbox write fails): login reads D1's stale flag.
    await setRegistryD1(laptop!.userId, true);
    await registry(laptop!.userId).adminDisable(laptop!.userId);
    await expectProblem(await me(laptop!.accessToken), 401, "invalid_token");
    await expectProblem(await login(laptop!.email), 403, "account_disabled");
  });

  it("should be idempotent: disabling twice keeps the first time", async () => {
    const [laptop] = await signInOn("laptop");
    const first = (await (await admin(`/users/${laptop!.userId}/disable`, "POST")).json()) as { user: { disabled_at: string } };
    const second = (await (await admin(`/users/${laptop!.userId}/disable`, "POST")).json()) as {
      user: { disabled_at: string };
      revoked: number;
    };
    expect(second.revoked).toBe(0);
    expect(second.user.disabled_at).toBe(first.user.disabled_at);
  });
});
