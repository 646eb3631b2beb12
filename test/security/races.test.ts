import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, expectProblem, me, PASSWORD, refresh, type SignedIn, signInOn, signUp, USER_AGENTS } from "../support/http";
import { holdRegistryD1, registry } from "../support/registry";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function registryRow(userId: string, sessionId: string) {
  return runInDurableObject(registry(userId), (_instance, state) =>
    state.storage.sql
      .exec<{ refresh_generation: number; revoked_at: number | null }>(
        "SELECT refresh_generation, revoked_at FROM sessions WHERE id = ?",
        sessionId,
      )
      .one(),
  );
}

/** Whatever a racing refresh minted: none of it may work once the session is revoked. */
async function expectNothingMintedWorks(minted: Response) {
  if (minted.status !== 200) {
    await expectProblem(minted, 401, "invalid_refresh_token");
    return;
  }
  const body = (await minted.json()) as { access_token: string; refresh_token: string };
  await expectProblem(await me(body.access_token), 401, "invalid_token");
  await expectProblem(await refresh(body.refresh_token), 401, "invalid_refresh_token");
}

describe("concurrency on one session (RFC 9700 §4.14.2, ASVS V7.4)", () => {
  it("should leave exactly one current generation after twenty concurrent refreshes, and treat late reuse as theft", async () => {
    const device = await signUp();
    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(device.refreshToken)));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { refresh_token: string; access_token: string }[];
    expect(new Set(bodies.map((b) => b.refresh_token)).size).toBe(1);
    // One rotation happened, not twenty: the chain did not fork.
    expect(await registryRow(device.userId, device.sessionId)).toMatchObject({ refresh_generation: 1, revoked_at: null });
    const successor = bodies[0]!.refresh_token;

    vi.useFakeTimers({ now: Date.now() + 11_000, toFake: ["Date"] });
    await expectProblem(await refresh(device.refreshToken), 401, "invalid_refresh_token");
    expect((await registryRow(device.userId, device.sessionId)).revoked_at).not.toBeNull();
    await expectProblem(await refresh(successor), 401, "invalid_refresh_token");
    for (const body of bodies.slice(0, 3)) await expectProblem(await me(body.access_token), 401, "invalid_token");
  });

  it("should end revoked, with nothing the racing refresh minted working, when a refresh races a revocation", async () => {
    const outcomes = new Set<number>();
    for (let round = 0; round < 8; round++) {
      const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
      const revocations = [
        () => call(`/v1/sessions/${phone.sessionId}`, { method: "DELETE", token: laptop.accessToken }),
        () => call("/v1/auth/logout", { method: "POST", token: phone.accessToken }),
        () => call("/v1/auth/logout-others", { method: "POST", token: laptop.accessToken }),
        () => call("/v1/auth/logout-all", { method: "POST", token: laptop.accessToken }),
      ];
      const revoke = revocations[round % revocations.length]!;
      // Alternate who starts first, so both orders are exercised.
      const [minted, revoked] =
        round % 2 === 0
          ? await Promise.all([refresh(phone.refreshToken), revoke()])
          : (await Promise.all([revoke(), refresh(phone.refreshToken)])).reverse();
      expect([200, 204]).toContain(revoked!.status);
      outcomes.add(minted!.status);
      await expectNothingMintedWorks(minted!);
      await expectProblem(await me(phone.accessToken), 401, "invalid_token");
      await expectProblem(await refresh(phone.refreshToken), 401, "invalid_refresh_token");
      expect((await registryRow(phone.userId, phone.sessionId)).revoked_at).not.toBeNull();
      const mirrored = await env.DB.prepare("SELECT revoked_at FROM sessions WHERE id = ?")
        .bind(phone.sessionId)
        .first<number | null>("revoked_at");
      expect(mirrored).not.toBeNull();
    }
    expect([...outcomes].every((status) => status === 200 || status === 401)).toBe(true);
  });

  it("should sign out the other device when a password change races its refresh", async () => {
    for (let round = 0; round < 3; round++) {
      const [laptop, phone] = (await signInOn("laptop", "phone")) as [SignedIn, SignedIn];
      const change = () =>
        call("/v1/auth/password", {
          method: "POST",
          token: laptop.accessToken,
          json: { current_password: PASSWORD, new_password: `new passphrase ${round}` },
        });
      const [changed, minted] =
        round % 2 === 0
          ? await Promise.all([change(), refresh(phone.refreshToken)])
          : (await Promise.all([refresh(phone.refreshToken), change()])).reverse();
      expect(changed!.status).toBe(204);
      await expectNothingMintedWorks(minted!);
      await expectProblem(await me(phone.accessToken), 401, "invalid_token");
      expect((await me(laptop.accessToken)).status).toBe(200);
    }
  });
});

/**
 * Holds one step of a request at a known point until the test opens it. It polls plain flags
 * rather than sharing a promise: workerd runs each request in its own I/O context, and a promise
 * resolved from another context may never resume the held request.
 */
function gate() {
  const state = { reached: false, opened: false };
  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
  };
  return {
    hold: async () => {
      state.reached = true;
      await until(() => state.opened);
    },
    arrived: () => until(() => state.reached),
    open: () => {
      state.opened = true;
    },
  };
}

const liveSessionIds = async (token: string) =>
  ((await (await call("/v1/sessions", { token })).json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id);

describe("a login with the old password racing a password change (ASVS V7.4, V6.2)", () => {
  it("should refuse a login whose password check started before the change and finished after it", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    // Seam: the login's PBKDF2 (the first deriveBits after this) is held until the change has completed.
    const held = gate();
    const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
    let first = true;
    vi.spyOn(crypto.subtle, "deriveBits").mockImplementation(async (algorithm, key, length) => {
      if (first) {
        first = false;
        await held.hold();
      }
      return deriveBits(algorithm, key, length);
    });
    const login = call("/v1/auth/login", { method: "POST", json: { email: laptop.email, password: PASSWORD, token_transport: "body" } });
    await held.arrived();
    const changed = await call("/v1/auth/password", {
      method: "POST",
      token: laptop.accessToken,
      json: { current_password: PASSWORD, new_password: "the owner's new passphrase" },
    });
    expect(changed.status).toBe(204);
    held.open();
    const response = await login;
    vi.restoreAllMocks();
    // The attacker who knew the old password holds nothing that works, and no session was left behind.
    expect(response.status).toBe(401);
    expect(await liveSessionIds(laptop.accessToken)).toEqual([laptop.sessionId]);
  });

  it("should refuse the old password while the change's new hash is on its way to D1", async () => {
    const [laptop] = (await signInOn("laptop")) as [SignedIn];
    // Seam: the registry's D1 write (its outbox batch carrying the new hash) is held while a login
    // with the old password runs to the end.
    const held = await holdRegistryD1(laptop.userId);
    const change = call("/v1/auth/password", {
      method: "POST",
      token: laptop.accessToken,
      json: { current_password: PASSWORD, new_password: "the owner's new passphrase" },
    });
    await held.reached();
    const login = await call("/v1/auth/login", {
      method: "POST",
      json: { email: laptop.email, password: PASSWORD, token_transport: "body" },
    });
    await held.release();
    expect((await change).status).toBe(204);
    // D1 still held the old hash when that login checked it: the registry refused it all the same.
    expect(login.status).toBe(401);
    expect(await liveSessionIds(laptop.accessToken)).toEqual([laptop.sessionId]);
  });
});

describe("concurrent sign-ins of one account (ASVS V7.5)", () => {
  it("should hold fifty concurrent logins to the session limit: all answered, exactly max_sessions live, the evicted refused", async () => {
    // Default policy: at most 10 live sessions, the least recently used evicted (src/sessions/session-limit.ts).
    const first = await signUp();
    const logins = await Promise.all(
      Array.from({ length: 50 }, () =>
        call("/v1/auth/login", {
          method: "POST",
          json: { email: first.email, password: PASSWORD, token_transport: "body" },
          headers: { "User-Agent": USER_AGENTS.phone },
        }),
      ),
    );
    expect(logins.map((r) => r.status)).toEqual(Array(50).fill(200));
    const sessions = (
      (await Promise.all(logins.map((r) => r.json()))) as { session: { id: string }; access_token: string; refresh_token: string }[]
    ).map((b) => ({
      id: b.session.id,
      accessToken: b.access_token,
      refreshToken: b.refresh_token,
    }));
    expect(new Set(sessions.map((s) => s.id)).size).toBe(50);
    expect(new Set(sessions.map((s) => s.refreshToken)).size).toBe(50);

    const all = [{ id: first.sessionId, accessToken: first.accessToken, refreshToken: first.refreshToken }, ...sessions];
    const usable: typeof all = [];
    for (const session of all) if ((await me(session.accessToken)).status === 200) usable.push(session);
    expect(usable).toHaveLength(10);
    const listed = (await (await call("/v1/sessions", { token: usable[0]!.accessToken })).json()) as { sessions: { id: string }[] };
    expect(new Set(listed.sessions.map((s) => s.id))).toEqual(new Set(usable.map((s) => s.id)));
    // An evicted session's refresh token is dead too, not only its access token.
    const evicted = all.find((s) => !usable.includes(s))!;
    expect((await call("/v1/auth/refresh", { method: "POST", json: { refresh_token: evicted.refreshToken } })).status).toBe(401);
  });
});
