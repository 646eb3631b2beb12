import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { migrateRegistrySchema } from "../../src/registry/schema";
import type { SessionRegistry } from "../../src/registry/session-registry";
import { signInOn } from "../support/http";
import { registry } from "../support/registry";

describe("the registry schema migrations from version 1", () => {
  it("should add the event and device tables to a version-1 registry, seeding known devices from its sessions", async () => {
    const [laptop] = await signInOn("laptop", "phone");
    const result = await runInDurableObject(registry(laptop!.userId), (instance: SessionRegistry) => {
      const sql = (instance as unknown as { ctx: DurableObjectState }).ctx.storage.sql;
      // Wind this registry back to what version 1 left behind.
      sql.exec("DROP TABLE events; DROP TABLE known_devices; DROP TABLE account; UPDATE meta SET value = '1' WHERE key = 'schema_version'");
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
    expect(result).toEqual({ version: "3", devices: ["Chrome|Windows|desktop", "Mobile Safari|iOS|mobile"], events: 0 });
  });
});
