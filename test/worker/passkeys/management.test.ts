import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectProblem, signUp } from "../../support/http";
import { authenticator, FLAG, registerPasskey, registrationOptions } from "../../support/passkeys";
import { registrySql } from "../../support/registry";

describe("registering and managing passkeys", () => {
  it("should offer creation options for a discoverable, user-verified credential of this account, excluding its passkeys", async () => {
    const laptop = await signUp();
    const first = await (await registrationOptions(laptop)).json<any>();
    expect(first).toMatchObject({
      rp: { id: "auth.test", name: "edge-sessions" },
      user: { name: laptop.email, displayName: laptop.email },
      attestation: "none",
      authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
      excludeCredentials: [],
    });
    expect(first.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toEqual([-8, -7, -257]);
    // The user handle is the account's id, not an email: it is stored on the authenticator.
    expect(atob(first.user.id.replace(/-/g, "+").replace(/_/g, "/"))).toBe(laptop.userId);
    const passkey = await registerPasskey(laptop);
    const second = await (await registrationOptions(laptop)).json<any>();
    expect(second.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([passkey.id]);
    expect(second.challenge).not.toBe(first.challenge);
  });

  it("should register a passkey and list it with its name, backup state and transports; not used yet", async () => {
    const laptop = await signUp();
    const synced = await registerPasskey(laptop, authenticator(), "My phone");
    const bound = await registerPasskey(laptop, authenticator({ flags: FLAG.UP | FLAG.UV }));
    expect(synced).toMatchObject({ name: "My phone", backed_up: true, last_used_at: null, transports: ["internal", "hybrid"] });
    expect(Date.parse((synced as any).created_at)).toBeGreaterThan(Date.now() - 60_000);
    // Without a name, the passkey is named after the device it was added on.
    expect(bound).toMatchObject({ name: "Passkey on Chrome on Windows", backed_up: false });
    const list = await (await call("/v1/passkeys", { token: laptop.accessToken })).json<any>();
    expect(list.passkeys.map((p: any) => p.id)).toEqual([synced.id, bound.id]);
  });

  it("should rename a passkey, and answer 404 for a passkey that is not the account's", async () => {
    const laptop = await signUp();
    const other = await signUp();
    const passkey = await registerPasskey(laptop);
    const renamed = await call(`/v1/passkeys/${passkey.id}`, { method: "PATCH", token: laptop.accessToken, json: { name: "Work key" } });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: passkey.id, name: "Work key" });
    await expectProblem(
      await call(`/v1/passkeys/${passkey.id}`, { method: "PATCH", token: other.accessToken, json: { name: "x" } }),
      404,
      "not_found",
    );
    await expectProblem(await call(`/v1/passkeys/not%20an%20id`, { method: "DELETE", token: laptop.accessToken }), 404, "not_found");
  });

  it("should remove a passkey, and record both changes in the security history with the device that made them", async () => {
    const laptop = await signUp();
    const passkey = await registerPasskey(laptop);
    expect((await call(`/v1/passkeys/${passkey.id}`, { method: "DELETE", token: laptop.accessToken })).status).toBe(204);
    await expectProblem(await call(`/v1/passkeys/${passkey.id}`, { method: "DELETE", token: laptop.accessToken }), 404, "not_found");
    expect((await (await call("/v1/passkeys", { token: laptop.accessToken })).json<any>()).passkeys).toEqual([]);
    const history = await (await call("/v1/security-events", { token: laptop.accessToken })).json<any>();
    const [removed, added] = history.events.filter((e: any) => e.type.startsWith("passkey_"));
    expect(removed).toMatchObject({
      type: "passkey_removed",
      session_id: laptop.sessionId,
      details: { passkey: { id: passkey.id, name: passkey.name } },
    });
    expect(added).toMatchObject({
      type: "passkey_added",
      session_id: laptop.sessionId,
      details: { backed_up: true, device: { name: "Chrome on Windows" } },
    });
  });

  it("should keep the public key in the registry and mirror to D1 only what the admin listing shows; a removal is mirrored too", async () => {
    const laptop = await signUp();
    const kept = await registerPasskey(laptop, authenticator(), "Kept");
    const removed = await registerPasskey(laptop, authenticator({ flags: FLAG.UP | FLAG.UV }), "Removed");
    expect((await call(`/v1/passkeys/${removed.id}`, { method: "DELETE", token: laptop.accessToken })).status).toBe(204);
    const stored = await registrySql<{ id: string; public_key: ArrayBuffer }>(laptop.userId, "SELECT id, public_key FROM passkeys");
    expect(stored.map((row) => row.id)).toEqual([kept.id]);
    expect(stored[0]!.public_key.byteLength).toBeGreaterThan(60);
    const columns = await env.DB.prepare("SELECT name FROM pragma_table_info('passkeys')").all<{ name: string }>();
    expect(columns.results.map((c) => c.name)).not.toContain("public_key");
    const listed = await call(`/v1/admin/users/${laptop.userId}/passkeys`, { token: env.ADMIN_TOKEN! });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({
      passkeys: [
        {
          id: kept.id,
          name: "Kept",
          created_at: expect.any(String),
          last_used_at: null,
          backup_eligible: true,
          backed_up: true,
          transports: ["internal", "hybrid"],
          aaguid: "00000000-0000-0000-0000-000000000000",
        },
      ],
    });
  });
});
