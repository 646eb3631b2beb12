import { requireSession, type SessionServiceBinding, type SessionVariables } from "@edge-sessions/consumer";
import { Hono } from "hono";

interface ConsumerEnv {
  SESSIONS: SessionServiceBinding;
}

// Must equal the session service's JWT_ISSUER and JWT_AUDIENCE (its wrangler.jsonc vars).
const tokens = { issuer: "https://auth.example.com", audience: "https://api.example.com" };

const app = new Hono<{ Bindings: ConsumerEnv; Variables: SessionVariables }>();

/** Money moves: every request asks the service, so a revoked session is refused at once. */
app.get("/strict", requireSession({ binding: "SESSIONS", mode: "strict", ...tokens }), (c) => c.json(c.get("session")));

/** Ordinary reads: liveness remembered for 5 s in this isolate, so a revocation takes up to 5 s. */
app.get("/cached", requireSession({ binding: "SESSIONS", mode: "cached", cacheTtlMs: 5_000, ...tokens }), (c) => c.json(c.get("session")));

/** Low-risk reads: signature only, against the JWKS read through the binding; a revoked token works until it expires. */
app.get("/stateless", requireSession({ binding: "SESSIONS", mode: "stateless", ...tokens }), (c) => c.json(c.get("session")));

export default app satisfies ExportedHandler<ConsumerEnv>;
