// Revocation as the other device feels it, measured while the load test's traffic runs: each
// victim session holds an open live socket; another session of the same user revokes it
// (DELETE /v1/sessions/:id). From the 204's arrival the probe times (a) the victim's next request,
// which must be refused, and (b) the `session_revoked` frame on its socket (docs/live.md).
import { performance } from "node:perf_hooks";
import { percentile, round } from "./stats.mjs";

const PASSWORD = "correct horse battery staple";
const USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/** The service's MAX_SESSIONS (wrangler.jsonc): one revoker and the rest victims, per user. */
const SESSIONS_PER_USER = 10;

async function post(base, path, body) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "User-Agent": USER_AGENT },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Users, each with one revoking session and up to nine victims: `count` victims in all. */
export async function prepareRevocations(base, count) {
  const users = Math.ceil(count / (SESSIONS_PER_USER - 1));
  const probes = [];
  for (let u = 0; u < users; u += 4) {
    await Promise.all(
      [...Array(Math.min(4, users - u)).keys()].map(async (i) => {
        const email = `revoke-${u + i}-${Date.now().toString(36)}@example.com`;
        const revoker = await post(base, "/v1/auth/signup", { email, password: PASSWORD, token_transport: "body" });
        for (let v = 1; v < SESSIONS_PER_USER && probes.length < count; v++) {
          const victim = await post(base, "/v1/auth/login", { email, password: PASSWORD, token_transport: "body" });
          probes.push({ revokerToken: revoker.access_token, sessionId: victim.session.id, accessToken: victim.access_token });
        }
      }),
    );
  }
  return probes.slice(0, count);
}

/** Opens the victim's live socket and resolves once it is open; `revoked` resolves at its session_revoked frame. */
function openSocket(base, accessToken) {
  const socket = new WebSocket(`${base.replace(/^http/, "ws")}/v1/sessions/live`, ["sessions.v1", `bearer.${accessToken}`]);
  let heard;
  const revoked = new Promise((resolve) => (heard = resolve));
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(String(event.data));
    if (frame.type === "session_revoked") heard(performance.now());
  });
  const opened = new Promise((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error("live socket failed to open")));
  });
  return { socket, opened, revoked };
}

const within = (promise, ms) => Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(null), ms))]);

async function probe(base, { revokerToken, sessionId, accessToken }) {
  const live = openSocket(base, accessToken);
  await live.opened;
  const revoke = await fetch(`${base}/v1/sessions/${sessionId}`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${revokerToken}` },
  });
  const answeredAt = performance.now();
  await revoke.arrayBuffer();
  if (revoke.status !== 204) throw new Error(`revocation answered ${revoke.status}`);
  const next = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
  const refusedAt = performance.now();
  await next.arrayBuffer();
  const heardAt = await within(live.revoked, 5000);
  live.socket.close();
  return {
    accepted: next.status < 300,
    refusedMs: refusedAt - answeredAt,
    // Negative when the frame came before the revoking call's answer: the registry tells the
    // device inside the revoking call, so it can.
    socketMs: heardAt === null ? null : heardAt - answeredAt,
  };
}

/** Runs every probe, `lanes` at a time; returns the figures results.json keeps. */
export async function runRevocations(base, probes, lanes = 4) {
  const outcomes = [];
  let next = 0;
  await Promise.all(
    [...Array(lanes).keys()].map(async () => {
      while (next < probes.length) outcomes.push(await probe(base, probes[next++]));
    }),
  );
  const heard = outcomes.filter((o) => o.socketMs !== null).map((o) => o.socketMs);
  // What the device feels: a frame that arrived before the caller's answer counts as 0 ms.
  const felt = heard.map((ms) => Math.max(0, ms));
  const refused = outcomes.map((o) => o.refusedMs);
  return {
    revocations: outcomes.length,
    accepted_after_revoke: outcomes.filter((o) => o.accepted).length,
    socket_frames_missing: outcomes.length - heard.length,
    socket_frame_before_response: heard.filter((ms) => ms <= 0).length,
    revocation_to_socket_p50_ms: round(percentile(felt, 50), 2),
    revocation_to_socket_p99_ms: round(percentile(felt, 99), 2),
    revocation_to_socket_raw_p50_ms: round(percentile(heard, 50), 2),
    revocation_to_refusal_p50_ms: round(percentile(refused, 50), 2),
    revocation_to_refusal_p99_ms: round(percentile(refused, 99), 2),
  };
}
