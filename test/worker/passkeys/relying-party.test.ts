import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { acceptsOrigin, configFrom } from "../../../src/shared/config";
import { call, signUp } from "../../support/http";
import { registrationOptions, SoftAuthenticator } from "../../support/passkeys";
import { configure } from "../../support/registry";

const relyingParty = (vars: Record<string, string>) => configFrom({ ...env, ...vars } as Env).relyingParty;

describe("the relying party's origins", () => {
  it("should accept any localhost port, and nothing else, with the local defaults (npm run dev)", () => {
    const rp = relyingParty({ WEBAUTHN_RP_ID: "localhost", WEBAUTHN_ORIGINS: "" });
    expect(rp).toMatchObject({ rpId: "localhost", origins: "localhost" });
    for (const origin of ["http://localhost:8787", "http://localhost:51234", "http://localhost"])
      expect(acceptsOrigin(rp, origin)).toBe(true);
    for (const origin of ["http://localhost.evil.test:8787", "http://127.0.0.1:8787", "https://auth.test", "http://localhost:8787/"])
      expect(acceptsOrigin(rp, origin)).toBe(false);
  });

  it("should accept exactly the listed origins once WEBAUTHN_ORIGINS is set, and https://<rp id> when it is empty", () => {
    const listed = relyingParty({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "https://example.com, https://app.example.com" });
    expect(acceptsOrigin(listed, "https://app.example.com")).toBe(true);
    expect(acceptsOrigin(listed, "https://other.example.com")).toBe(false);
    expect(acceptsOrigin(listed, "http://localhost:8787")).toBe(false);
    const implied = relyingParty({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "" });
    expect(implied.origins).toEqual(["https://example.com"]);
    // localhost as the RP ID with a list: only what is listed.
    const local = relyingParty({ WEBAUTHN_RP_ID: "localhost", WEBAUTHN_ORIGINS: "http://localhost:8787" });
    expect(acceptsOrigin(local, "http://localhost:9999")).toBe(false);
  });

  it("should register a passkey made on http://localhost:<any port> when the registry runs with the local defaults", async () => {
    const device = await signUp();
    await configure(device.userId, { WEBAUTHN_RP_ID: "localhost", WEBAUTHN_ORIGINS: "" });
    const options = await (await registrationOptions(device)).json<any>();
    // The Worker under test names its own RP (auth.test); the page would be served from localhost.
    const response = await new SoftAuthenticator("http://localhost:61234").create({ ...options, rp: { ...options.rp, id: "localhost" } });
    const registered = await call("/v1/passkeys", { method: "POST", token: device.accessToken, json: { response } });
    expect(registered.status).toBe(201);
  });
});
