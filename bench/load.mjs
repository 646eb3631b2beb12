// The mixed HTTP load against `wrangler dev` of the real service, with a revocation audit:
// every 200 answered to a request sent after its session's revocation had returned is counted.

import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { prepareRevocations, runRevocations } from "./revocation.mjs";
import { round } from "./stats.mjs";

const PASSWORD = "correct horse battery staple";
const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
];

/** The mix, per request: the rest of the probability mass goes to GET /v1/me and GET /v1/sessions. */
/** `listSessions` is the share of those plain reads that list sessions instead of reading /v1/me. */
const MIX = { refresh: 0.05, revokeOther: 0.005, signInAgain: 0.005, revokedProbe: 0.03, listSessions: 0.35 };

async function postJson(base, path, body, userAgent) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "User-Agent": userAgent },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function inBatches(items, width, work) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

/** Per 1,000 requests (Worker scopes) or calls (registry scopes), from the load entry's counters. */
function storageCounts(tallies) {
  const per = (n, calls) => (calls === 0 ? null : round((n * 1000) / calls, 1));
  return Object.fromEntries(
    Object.entries(tallies)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([scope, t]) => [
        scope,
        {
          calls: t.calls,
          d1_statements: t.d1Statements,
          d1_writes: t.d1Writes,
          sqlite_statements: t.sqlStatements,
          sqlite_writes: t.sqlWrites,
          sqlite_rows_written: t.sqlRowsWritten,
          per_1000: {
            d1_statements: per(t.d1Statements, t.calls),
            d1_writes: per(t.d1Writes, t.calls),
            sqlite_writes: per(t.sqlWrites, t.calls),
            sqlite_rows_written: per(t.sqlRowsWritten, t.calls),
          },
        },
      ]),
  );
}

export async function runLoad(base, { users, devicesPerUser, durationSeconds, connections, revocations, log }) {
  // Sign every user up on their first device and in on the others.
  const devices = [];
  await inBatches([...Array(users).keys()], 4, async (u) => {
    const email = `load-${u}-${Date.now().toString(36)}@example.com`;
    for (let d = 0; d < devicesPerUser; d++) {
      const userAgent = USER_AGENTS[d % USER_AGENTS.length];
      const path = d === 0 ? "/v1/auth/signup" : "/v1/auth/login";
      const body = await postJson(base, path, { email, password: PASSWORD, token_transport: "body" }, userAgent);
      devices.push({
        user: u,
        email,
        userAgent,
        sessionId: body.session.id,
        accessToken: body.access_token,
        refreshToken: body.refresh_token,
        state: "live",
      });
    }
  });
  log(`load: ${devices.length} sessions of ${users} users ready`);
  const probes = await prepareRevocations(base, revocations);
  log(`load: ${probes.length} sessions to revoke, each with an open live socket, ready`);

  const revokedAt = new Map(); // sessionId -> time (ms) the revocation's 204 was received
  const revokedTokens = []; // access tokens of revoked sessions, replayed on purpose
  const audit = { accepted_after_revoke: 0, revoked_probes: 0, revoked_probes_refused: 0, unexpected_401: 0, by_kind: {} };
  const random = (list) => list[Math.floor(Math.random() * list.length)];
  const liveOf = (user) => devices.filter((d) => d.user === user && d.state === "live");

  function nextRequest(context) {
    const roll = Math.random();
    const live = devices.filter((d) => d.state === "live");
    const device = random(live);
    const bearer = (token) => ({ Authorization: `Bearer ${token}`, "User-Agent": device.userAgent });
    let edge = 0;
    const within = (share) => roll < (edge += share);
    if (within(MIX.refresh) && !device.refreshing) {
      device.refreshing = true;
      context.current = { kind: "refresh", device };
      return {
        method: "POST",
        path: "/v1/auth/refresh",
        headers: { "Content-Type": "application/json", "User-Agent": device.userAgent },
        body: JSON.stringify({ refresh_token: device.refreshToken }),
      };
    }
    if (within(MIX.revokeOther)) {
      const target = liveOf(device.user).find((d) => d !== device);
      if (target) {
        target.state = "revoking";
        context.current = { kind: "revoke", device, target, sessionId: device.sessionId };
        return { method: "DELETE", path: `/v1/sessions/${target.sessionId}`, headers: bearer(device.accessToken) };
      }
    }
    if (within(MIX.signInAgain)) {
      const gone = devices.find((d) => d.state === "revoked");
      if (gone) {
        gone.state = "signing-in";
        context.current = { kind: "signin", device: gone };
        return {
          method: "POST",
          path: "/v1/auth/login",
          headers: { "Content-Type": "application/json", "User-Agent": gone.userAgent },
          body: JSON.stringify({ email: gone.email, password: PASSWORD, token_transport: "body" }),
        };
      }
    }
    if (within(MIX.revokedProbe) && revokedTokens.length > 0) {
      const probe = random(revokedTokens);
      context.current = { kind: "revoked-probe", sessionId: probe.sessionId };
      return { method: "GET", path: random(["/v1/me", "/v1/sessions"]), headers: { Authorization: `Bearer ${probe.token}` } };
    }
    const path = Math.random() < MIX.listSessions ? "/v1/sessions" : "/v1/me";
    context.current = { kind: path === "/v1/me" ? "me" : "list", device, sessionId: device.sessionId };
    return { method: "GET", path, headers: bearer(device.accessToken) };
  }

  const requests = [
    {
      setupRequest(request, context) {
        const next = nextRequest(context);
        context.current.sentAt = performance.now();
        return { ...request, ...next };
      },
      onResponse(status, body, context) {
        const now = performance.now();
        const current = context.current;
        if (!current) return;
        context.current = undefined;
        const kind = (audit.by_kind[current.kind] ??= {});
        kind[status] = (kind[status] ?? 0) + 1;
        // The audit: a bearer request sent after its session's revocation returned must not succeed.
        const revoked = current.sessionId ? revokedAt.get(current.sessionId) : undefined;
        if (status < 300 && revoked !== undefined && current.sentAt > revoked) audit.accepted_after_revoke++;
        if (current.kind === "revoked-probe") {
          audit.revoked_probes++;
          if (status === 401) audit.revoked_probes_refused++;
        } else if (status === 401 && (current.kind === "me" || current.kind === "list") && revoked === undefined) {
          audit.unexpected_401++;
        }
        if (current.kind === "refresh") {
          current.device.refreshing = false;
          if (status === 200) {
            const json = JSON.parse(body);
            current.device.accessToken = json.access_token;
            current.device.refreshToken = json.refresh_token;
          }
        } else if (current.kind === "revoke") {
          const { target } = current;
          if (status === 204) {
            revokedAt.set(target.sessionId, now);
            revokedTokens.push({ sessionId: target.sessionId, token: target.accessToken });
            target.state = "revoked";
          } else if (target.state === "revoking") target.state = "live";
        } else if (current.kind === "signin") {
          const device = current.device;
          if (status === 200) {
            const json = JSON.parse(body);
            Object.assign(device, {
              sessionId: json.session.id,
              accessToken: json.access_token,
              refreshToken: json.refresh_token,
              state: "live",
            });
          } else device.state = "revoked";
        }
      },
    },
  ];

  // Counted from here: setup's signups and logins are not part of the load.
  await fetch(`${base}/__bench/reset`, { method: "POST" });
  const started = performance.now();
  // Runs until both the probes are done and durationSeconds have passed, so every probe has load beside it.
  const instance = autocannon({ url: base, connections, duration: 3600, requests });
  let revocationResults;
  try {
    revocationResults = await runRevocations(base, probes);
  } finally {
    const left = durationSeconds * 1000 - (performance.now() - started);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
    instance.stop();
  }
  const result = await instance;
  const tallies = await (await fetch(`${base}/__bench/counts`)).json();
  const errors5xx = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => Number(code) >= 500)
    .reduce((sum, [, stats]) => sum + Number(stats.count), 0);
  return {
    duration_s: round((performance.now() - started) / 1000, 1),
    connections,
    users,
    sessions_at_start: users * devicesPerUser,
    mix: MIX,
    requests: result.requests.total,
    requests_per_s: result.requests.average,
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    errors_5xx: errors5xx,
    connection_errors: result.errors,
    timeouts: result.timeouts,
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, Number(stats.count)])),
    revocations_completed: revokedAt.size,
    ...audit,
    revocation_probe: revocationResults,
    storage: storageCounts(tallies),
  };
}
