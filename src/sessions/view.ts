import type { SessionView } from "./registry";

const iso = (ms: number) => new Date(ms).toISOString();

/** The contract's `Session` shape: every field present, unknown ones `null`. */
export function sessionJson(session: SessionView, currentSessionId: string | null) {
  return {
    id: session.id,
    current: session.id === currentSessionId,
    device: session.device,
    ip: session.ip,
    location: session.location,
    created_at: iso(session.createdAt),
    last_active_at: iso(session.lastActiveAt),
    expires_at: iso(session.expiresAt),
  };
}

export function userJson(user: { id: string; email: string; createdAt: number }) {
  return { id: user.id, email: user.email, created_at: iso(user.createdAt) };
}
