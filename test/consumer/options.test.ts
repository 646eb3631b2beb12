import { describe, expect, it } from "vitest";
import { type RequireSessionOptions, requireSession } from "../../consumer/index";
import { TOKENS } from "./support";

describe("requireSession options", () => {
  const invalid: [string, unknown][] = [
    ["an unknown mode", { ...TOKENS, mode: "lenient", binding: "SESSIONS" }],
    ["strict without a binding", { ...TOKENS, mode: "strict" }],
    ["cached without a binding", { ...TOKENS, mode: "cached", jwksUrl: "https://auth.example.com/.well-known/jwks.json" }],
    ["stateless with neither binding nor jwksUrl", { ...TOKENS, mode: "stateless" }],
    ["a plain-http jwksUrl", { ...TOKENS, mode: "stateless", jwksUrl: "http://auth.example.com/.well-known/jwks.json" }],
    ["a missing issuer", { audience: TOKENS.audience, mode: "strict", binding: "SESSIONS" }],
    ["a negative cacheTtlMs", { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: -1 }],
    ["a cacheTtlMs over 5 minutes", { ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 300_001 }],
    ["cacheTtlMs outside cached mode", { ...TOKENS, mode: "strict", binding: "SESSIONS", cacheTtlMs: 1000 }],
  ];

  it.each(invalid)("should throw at construction for %s", (_, options) => {
    expect(() => requireSession(options as RequireSessionOptions)).toThrow(TypeError);
  });

  it("should accept each documented mode", () => {
    expect(() => requireSession({ ...TOKENS, mode: "strict", binding: "SESSIONS" })).not.toThrow();
    expect(() => requireSession({ ...TOKENS, mode: "cached", binding: "SESSIONS", cacheTtlMs: 5_000 })).not.toThrow();
    expect(() => requireSession({ ...TOKENS, mode: "stateless", jwksUrl: "https://auth.example.com/.well-known/jwks.json" })).not.toThrow();
  });
});
