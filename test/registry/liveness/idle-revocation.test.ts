import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, me, PASSWORD, refresh, type SignedIn, signInOn } from "../../support/http";
import { configure, movableRegistryClock } from "../../support/registry";

const admin = (path: string) => call(`/v1/admin${path}`, { method: "POST", token: env.ADMIN_TOKEN! });
const FOURTEEN_DAYS = String(14 * 86_400);

/**
 * Three devices of one user under the shortest idle timeout (300 s). The registry's clock is
 * moved, the Worker's is not: at +200 s the laptop and the phone are used, at +400 s the tablet
 * has been idle for 400 s (refused everywhere) and the others for 200 s.
 */
async function tabletIdle() {
  const [laptop, phone, tablet] = (await signInOn("laptop", "phone", "tablet")) as [SignedIn, SignedIn, SignedIn];
  await configure(laptop.userId, { SESSION_IDLE_TIMEOUT_SECONDS: "300" });
  const clock = await movableRegistryClock(laptop.userId);
  clock.moveTo(200_000);
  for (const device of [laptop, phone]) expect((await me(device.accessToken)).status).toBe(200);
  clock.moveTo(400_000);
  await expectProblem(await me(tablet.accessToken), 401, "invalid_token");
  return { laptop, phone, tablet };
}

const mirroredRevokedAt = async (sessionId: string) =>
  (await env.DB.prepare("SELECT revoked_at FROM sessions WHERE id = ?").bind(sessionId).first<{ revoked_at: number | null }>())?.revoked_at;

/** Each bulk revocation, and how many of the three sessions it should end (the idle tablet always among them). */
const revocations: [string, (devices: { laptop: SignedIn }) => Promise<number | null>, number][] = [
  ["logout-others", async ({ laptop }) => json(await call("/v1/auth/logout-others", { method: "POST", token: laptop.accessToken })), 2],
  ["logout-all", async ({ laptop }) => json(await call("/v1/auth/logout-all", { method: "POST", token: laptop.accessToken })), 3],
  [
    "a password change",
    async ({ laptop }) => {
      const changed = await call("/v1/auth/password", {
        method: "POST",
        token: laptop.accessToken,
        json: { current_password: PASSWORD, new_password: "a new and long passphrase" },
      });
      expect(changed.status).toBe(204);
      return null;
    },
    2,
  ],
  ["admin revoke-all", async ({ laptop }) => json(await admin(`/users/${laptop.userId}/sessions/revoke-all`)), 3],
  [
    "admin disable",
    async ({ laptop }) => {
      const count = await json(await admin(`/users/${laptop.userId}/disable`));
      // Enabled again at once: only the revocation can keep the sessions out now.
      expect((await admin(`/users/${laptop.userId}/enable`)).status).toBe(200);
      return count;
    },
    3,
  ],
  [
    "RPC revokeAllSessions",
    async ({ laptop }) => {
      const result = await env.SESSION_SERVICE.revokeAllSessions(laptop.userId, "account_locked");
      expect(result.ok).toBe(true);
      return result.ok ? result.revoked : null;
    },
    3,
  ],
];

async function json(response: Response): Promise<number> {
  expect(response.status).toBe(200);
  return ((await response.json()) as { revoked: number }).revoked;
}

describe("revoking idle sessions (an idle session has not ended, and a longer timeout must not revive a revoked one)", () => {
  it("should let an idle session nobody revoked refresh again once the idle timeout is raised: the timeout in force decides", async () => {
    const { laptop, tablet } = await tabletIdle();
    await expectProblem(await refresh(tablet.refreshToken), 401, "invalid_refresh_token");
    await configure(laptop.userId, { SESSION_IDLE_TIMEOUT_SECONDS: FOURTEEN_DAYS });
    expect((await refresh(tablet.refreshToken)).status).toBe(200);
  });

  for (const [name, revoke, expected] of revocations) {
    it(`should end and count the idle session on ${name}, in the registry and in D1, so raising the idle timeout brings nothing back`, async () => {
      const devices = await tabletIdle();
      const count = await revoke(devices);
      if (count !== null) expect(count).toBe(expected);
      expect(await mirroredRevokedAt(devices.tablet.sessionId)).not.toBeNull();

      await configure(devices.laptop.userId, { SESSION_IDLE_TIMEOUT_SECONDS: FOURTEEN_DAYS });
      await expectProblem(await refresh(devices.tablet.refreshToken), 401, "invalid_refresh_token");
      await expectProblem(await me(devices.tablet.accessToken), 401, "invalid_token");
      await expectProblem(await refresh(devices.phone.refreshToken), 401, "invalid_refresh_token");
      if (expected === 2) expect((await refresh(devices.laptop.refreshToken)).status).toBe(200);
    });
  }

  it("should end an idle session of the caller on DELETE /v1/sessions/{id} with 204, though the device list does not show it", async () => {
    const { laptop, tablet } = await tabletIdle();
    const listed = (await (await call("/v1/sessions", { token: laptop.accessToken })).json()) as { sessions: { id: string }[] };
    expect(listed.sessions.map((session) => session.id)).not.toContain(tablet.sessionId);

    expect((await call(`/v1/sessions/${tablet.sessionId}`, { method: "DELETE", token: laptop.accessToken })).status).toBe(204);
    expect(await mirroredRevokedAt(tablet.sessionId)).not.toBeNull();
    // Ended now: a second DELETE finds nothing to end.
    await expectProblem(await call(`/v1/sessions/${tablet.sessionId}`, { method: "DELETE", token: laptop.accessToken }), 404, "not_found");

    await configure(laptop.userId, { SESSION_IDLE_TIMEOUT_SECONDS: FOURTEEN_DAYS });
    await expectProblem(await refresh(tablet.refreshToken), 401, "invalid_refresh_token");
  });
});
