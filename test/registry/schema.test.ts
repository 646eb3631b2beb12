import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { migrateRegistrySchema } from "../../src/registry/schema";
import type { SessionRegistry } from "../../src/registry/session-registry";
import { me, refresh, signIn, signInOn } from "../support/http";
import { claimsOf } from "../support/passkeys";
import { registry, registrySql } from "../support/registry";

/** What undoes version 8 (crash consistency), before a test winds a registry further back. */
const UNDO_8 = `ALTER TABLE sessions DROP COLUMN confirmed_at; ALTER TABLE account DROP COLUMN pending_password_hash;
  ALTER TABLE account DROP COLUMN pending_password_at; ALTER TABLE account DROP COLUMN disabled_pending;`;

describe("the registry schema migrations from version 1", () => {
  it("should add the event and device tables to a version-1 registry, seeding known devices from its sessions", async () => {
    const [laptop] = await signInOn("laptop", "phone");
    const result = await runInDurableObject(registry(laptop!.userId), (instance: SessionRegistry) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      // Wind this registry back to what version 1 left behind.
      sql.exec(
        `${UNDO_8} DROP TABLE risk_notices; DROP TABLE dbsc_challenges; ALTER TABLE sessions DROP COLUMN dbsc_key; ALTER TABLE sessions DROP COLUMN dbsc_until;
         DROP TABLE events; DROP TABLE known_devices; DROP TABLE account; DROP TABLE dpop_replay;
         ALTER TABLE sessions DROP COLUMN binding; ALTER TABLE sessions DROP COLUMN dpop_jkt;
         DROP TABLE passkeys; DROP TABLE webauthn_challenges; DROP TABLE spent_sign_in_challenges;
         ALTER TABLE sessions DROP COLUMN auth_time; ALTER TABLE sessions DROP COLUMN amr; ALTER TABLE sessions DROP COLUMN sign_in_method;
         UPDATE meta SET value = '1' WHERE key = 'schema_version'`,
      );
      migrateRegistrySchema(sql);
      return {
        version: sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value,
        devices: sql
          .exec<{ fingerprint: string }>("SELECT fingerprint FROM known_devices ORDER BY fingerprint")
          .toArray()
          .map((row) => row.fingerprint),
        events: sql.exec("SELECT count(*) AS n FROM events").one().n,
      };
    });
    expect(result).toEqual({ version: "8", devices: ["Chrome|Windows|desktop", "Mobile Safari|iOS|mobile"], events: 0 });
  });

  it("should give a version-3 registry's sessions binding none and an empty DPoP replay state, and keep them working", async () => {
    const [laptop] = await signInOn("laptop", "phone");
    const result = await runInDurableObject(registry(laptop!.userId), (instance: SessionRegistry) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      sql.exec(
        `${UNDO_8} DROP TABLE risk_notices; DROP TABLE dbsc_challenges; ALTER TABLE sessions DROP COLUMN dbsc_key; ALTER TABLE sessions DROP COLUMN dbsc_until;
         DROP TABLE passkeys; DROP TABLE webauthn_challenges; DROP TABLE spent_sign_in_challenges;
         ALTER TABLE sessions DROP COLUMN auth_time; ALTER TABLE sessions DROP COLUMN amr; ALTER TABLE sessions DROP COLUMN sign_in_method;
         DROP TABLE dpop_replay; ALTER TABLE sessions DROP COLUMN binding; ALTER TABLE sessions DROP COLUMN dpop_jkt;
         UPDATE meta SET value = '3' WHERE key = 'schema_version'`,
      );
      migrateRegistrySchema(sql);
      return {
        bindings: sql.exec<{ binding: string; dpop_jkt: string | null }>("SELECT binding, dpop_jkt FROM sessions").toArray(),
        mark: sql.exec("SELECT accepted_until FROM dpop_replay").one().accepted_until,
      };
    });
    expect(result).toEqual({
      bindings: [
        { binding: "none", dpop_jkt: null },
        { binding: "none", dpop_jkt: null },
      ],
      mark: 0,
    });
    expect((await me(laptop!.accessToken)).status).toBe(200);
  });

  it("should give a version-6 registry an empty notices table, where the next finding opens a notice", async () => {
    const [laptop] = await signInOn("laptop");
    await runInDurableObject(registry(laptop!.userId), (instance: SessionRegistry) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      sql.exec(`${UNDO_8} DROP TABLE risk_notices; UPDATE meta SET value = '6' WHERE key = 'schema_version'`);
      migrateRegistrySchema(sql);
    });
    await signIn(laptop!.email, "phone");
    const notices = await registrySql<{ finding: string }>(laptop!.userId, "SELECT finding FROM risk_notices");
    expect(notices).toEqual([{ finding: "new_device" }]);
  });

  it("should give a version-4 registry's sessions a password proof at their creation, which their next refresh carries", async () => {
    const [laptop] = await signInOn("laptop");
    await runInDurableObject(registry(laptop!.userId), (instance: SessionRegistry) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      sql.exec(
        `${UNDO_8} DROP TABLE risk_notices; DROP TABLE dbsc_challenges; ALTER TABLE sessions DROP COLUMN dbsc_key; ALTER TABLE sessions DROP COLUMN dbsc_until;
         DROP TABLE passkeys; DROP TABLE webauthn_challenges; DROP TABLE spent_sign_in_challenges;
         ALTER TABLE sessions DROP COLUMN auth_time; ALTER TABLE sessions DROP COLUMN amr; ALTER TABLE sessions DROP COLUMN sign_in_method;
         UPDATE sessions SET created_at = created_at - 3600000;
         UPDATE meta SET value = '4' WHERE key = 'schema_version'`,
      );
      migrateRegistrySchema(sql);
    });
    const [row] = await registrySql<{ auth_time: number; created_at: number; amr: string; sign_in_method: string }>(
      laptop!.userId,
      "SELECT auth_time, created_at, amr, sign_in_method FROM sessions",
    );
    expect(row).toEqual({ auth_time: row!.created_at, created_at: row!.created_at, amr: '["pwd"]', sign_in_method: "password" });
    const refreshed = await (await refresh(laptop!.refreshToken)).json<any>();
    expect(claimsOf(refreshed.access_token)).toMatchObject({ auth_time: Math.floor(row!.created_at / 1000), amr: ["pwd"] });
  });

  it("should give a version-5 registry's sessions no DBSC key, and keep them refreshing as before", async () => {
    const [laptop] = await signInOn("laptop");
    await runInDurableObject(registry(laptop!.userId), (instance: SessionRegistry) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      sql.exec(
        `${UNDO_8} ${"DROP TABLE risk_notices; DROP TABLE dbsc_challenges; ALTER TABLE sessions DROP COLUMN dbsc_key; ALTER TABLE sessions DROP COLUMN dbsc_until;"} UPDATE meta SET value = '5' WHERE key = 'schema_version'`,
      );
      migrateRegistrySchema(sql);
    });
    const [row] = await registrySql<{ dbsc_key: string | null; dbsc_until: number | null }>(
      laptop!.userId,
      "SELECT dbsc_key, dbsc_until FROM sessions",
    );
    expect(row).toEqual({ dbsc_key: null, dbsc_until: null });
    expect((await refresh(laptop!.refreshToken)).status).toBe(200);
  });
});
