import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PBKDF2_ITERATIONS, WORKERS_PBKDF2_LIMIT } from "../../src/worker/auth/password";
import { PASSWORD, refresh, signUp } from "../support/http";
import { registry } from "../support/registry";

async function sha256Hex(text: string) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("secrets at rest", () => {
  it("should store the password only as a salted PBKDF2-SHA256 hash within the Workers iteration limit", async () => {
    const device = await signUp();
    const row = await env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(device.userId).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(row!.password_hash).toMatch(/^pbkdf2_sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    // workerd locally accepts any count; production Workers refuses more than 100,000.
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(WORKERS_PBKDF2_LIMIT);
    expect(WORKERS_PBKDF2_LIMIT).toBe(100_000);
  });

  it("should store refresh tokens only as SHA-256 hashes, in the registry and nowhere in D1", async () => {
    const device = await signUp();
    const rotated = ((await (await refresh(device.refreshToken)).json()) as any).refresh_token as string;
    const stub = registry(device.userId);
    const rows = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec("SELECT * FROM sessions").toArray());
    expect(rows).toHaveLength(1);
    const dump = JSON.stringify(rows, (_key, value) => (value instanceof ArrayBuffer ? hex(value) : value));
    for (const token of [device.refreshToken, rotated]) {
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(token.split(".")[3]);
    }
    expect(hex(rows[0]!.refresh_hash as ArrayBuffer)).toBe(await sha256Hex(rotated));
    expect(hex(rows[0]!.previous_refresh_hash as ArrayBuffer)).toBe(await sha256Hex(device.refreshToken));
    const mirrored = await env.DB.prepare("SELECT * FROM sessions WHERE user_id = ?").bind(device.userId).all();
    expect(JSON.stringify(mirrored.results)).not.toContain(device.refreshToken.split(".")[3]);
  });
});
