// After a restart: does D1 agree with the registries (read only, timed), then every answer the
// clients hold against the service, and what each unanswered call did.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Beyond this many sessions the admin history (at most 100 rows) no longer shows them all. */
const HISTORY_ROWS = 95;
const ACCESS_TOKEN_SAFE_MS = 9 * 60_000;
/** Revoked sessions checked again in every audit besides the ones revoked since the last. */
const REVOKED_RECHECKS = 12;
/** An orphan (a sign-in whose answer was lost) must be ended within 5 minutes; a little slack. */
const ORPHAN_LIMIT_MS = 5 * 60_000 + 30_000;

/** Finds the accounts of unanswered signups (a D1 lookup); the ones that exist join the clients. */
export async function findLostSignups(clients, adminToken) {
  const found = [];
  for (const user of clients.lostSignups) {
    const answer = await clients.req("GET", `/v1/admin/users?email=${encodeURIComponent(user.email)}`, { admin: adminToken });
    if (answer.status === 200) {
      user.id = answer.body.user.id;
      clients.users.push(user);
      found.push(user);
    }
  }
  clients.stats.resolved.signupsDone += found.length;
  clients.stats.resolved.signupsNotDone += clients.lostSignups.length - found.length;
  clients.lostSignups = [];
  return found;
}

/** The registry's live ids (admin list) and D1's ended rows (admin history) of one user. */
async function views(clients, user, adminToken) {
  const answer = await clients.req("GET", `/v1/admin/users/${user.id}/sessions?history=true`, { admin: adminToken });
  if (answer.status !== 200) return null;
  return {
    live: new Set(answer.body.sessions.map((s) => s.id)),
    ended: new Map((answer.body.history ?? []).map((row) => [row.id, row])),
  };
}

/** Where D1 and the registries disagree now: an empty list when they agree. */
async function disagreements(clients, adminToken) {
  const problems = [];
  let registryLive = 0;
  const all = await inTurns(clients.users, 4, (user) => views(clients, user, adminToken));
  for (const [index, user] of clients.users.entries()) {
    const view = all[index];
    if (view === null) {
      problems.push(`${user.id}: admin list unavailable`);
      continue;
    }
    registryLive += view.live.size;
    for (const id of view.live) user.known.add(id);
    for (const id of view.live) if (view.ended.has(id)) problems.push(`${id}: live in the registry, ended in D1`);
    if (user.known.size > HISTORY_ROWS) continue;
    for (const id of user.known) {
      if (view.live.has(id)) continue;
      const row = view.ended.get(id);
      if (!row) problems.push(`${id}: ended in the registry, live (or absent) in D1`);
    }
  }
  const stats = await clients.req("GET", "/v1/admin/stats", { admin: adminToken });
  if (stats.status !== 200) problems.push("admin stats unavailable");
  else if (stats.body.live_sessions !== registryLive)
    problems.push(`D1 counts ${stats.body.live_sessions} live sessions, the registries hold ${registryLive}`);
  return problems;
}

/** `fn` over `items`, at most `n` at a time; the results in order. */
async function inTurns(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

/**
 * Polls (read only: no call here writes or pushes the outbox) until D1 agrees with every registry,
 * or `limitMs` has passed. `ms` is when the first agreeing look began, after the restart.
 */
export async function convergence(clients, adminToken, limitMs) {
  const started = Date.now();
  for (;;) {
    const lookedAt = Date.now() - started;
    const problems = await disagreements(clients, adminToken);
    if (problems.length === 0) return { converged: true, ms: lookedAt };
    if (Date.now() - started >= limitMs) return { converged: false, ms: Date.now() - started, problems };
    await sleep(500);
  }
}

/**
 * Checks every session against what its client was told, resolves the unanswered calls, checks
 * password changes and the history. `violation(kind, detail)` records a broken promise.
 */
export async function audit(clients, { adminToken, graceMs, settleMs, violation }) {
  const stats = clients.stats;
  const live = new Map();
  // Sessions revoked after this moment (by the audit itself) may still be in the lists read here.
  const takenAt = Date.now();
  for (const user of clients.users) {
    const view = await views(clients, user, adminToken);
    live.set(user, view?.live ?? null);
    for (const id of view?.live ?? []) user.known.add(id);
  }
  orphans(clients, live, violation);
  await Promise.all(clients.users.map((user) => auditUser(clients, user, live.get(user), { takenAt, graceMs, settleMs, violation })));
  for (const group of clients.lostGroups) {
    const states = new Set(group.sessions.map((s) => s.state));
    if (states.size > 1)
      violation("revoke_all_partial", `${group.kind} cut off: ${group.sessions.map((s) => `${s.id}=${s.state}`).join(" ")}`);
  }
  clients.lostGroups = [];
  clients.lostLogins = [];
  stats.audits++;
}

/** Sessions the registry holds live that no client was given (a sign-in whose answer was lost). */
function orphans(clients, live, violation) {
  const now = Date.now();
  const stats = clients.stats;
  for (const user of clients.users) {
    const ids = live.get(user);
    if (!ids) continue;
    const ours = new Set(user.sessions.map((s) => s.id));
    for (const id of ids) {
      if (ours.has(id)) continue;
      if (!stats.orphans.has(id)) stats.orphans.set(id, { firstSeen: now, lastSeen: now });
      else stats.orphans.get(id).lastSeen = now;
    }
    for (const [id, seen] of stats.orphans) {
      if (!user.known.has(id)) continue;
      if (!ids.has(id)) seen.gone ??= now;
      // The registry ends a session whose sign-in answer never left within this bound (storage-schema.md).
      else if (now - seen.firstSeen > ORPHAN_LIMIT_MS && !seen.reported) {
        seen.reported = true;
        violation(
          "orphan_not_ended",
          `${id}: no client holds its tokens, still live ${Math.round((now - seen.firstSeen) / 1000)} s after it was first seen`,
        );
      }
    }
  }
}

async function auditUser(clients, user, registryLive, { takenAt, graceMs, settleMs, violation }) {
  if (registryLive === null) {
    violation("registry_views_disagree", `${user.id}: the admin list did not answer`);
    return;
  }
  await crossCheckList(clients, user, registryLive, violation);
  await previousGeneration(clients, user, graceMs, violation);
  for (const session of user.sessions) {
    if (session.state === "revoked" && session.revokedAt >= takenAt) continue; // checked next time
    await auditSession(clients, session, registryLive, violation);
  }
  await passwords(clients, user, violation, settleMs);
  await history(clients, user, violation);
}

/** The user's own GET /v1/sessions must list what the admin list (the same registry) does. */
async function crossCheckList(clients, user, registryLive, violation) {
  const caller = user.sessions.find((s) => s.state === "live" && s.pending === null && Date.now() - s.accessAt < ACCESS_TOKEN_SAFE_MS);
  if (!caller) return;
  const answer = await clients.req("GET", "/v1/sessions", { bearer: caller.access });
  if (answer.status !== 200) return; // the caller itself is judged below
  const listed = new Set(answer.body.sessions.map((s) => s.id));
  const differ = [...listed].filter((id) => !registryLive.has(id)).concat([...registryLive].filter((id) => !listed.has(id)));
  if (differ.length > 0)
    violation("registry_views_disagree", `${user.id}: GET /v1/sessions and the admin list differ on ${differ.join(" ")}`);
}

/**
 * A rotated-out generation, presented after the grace window, is reuse: refused, and the whole
 * session ends (its newest token too). Checked on one session per user per audit.
 */
async function previousGeneration(clients, user, graceMs, violation) {
  if (user.pendingPassword) return; // its sessions are evidence of how the change went
  const session = user.sessions.find(
    (s) => s.state === "live" && s.pending === null && !s.refusedDuringLoad && s.prev && Date.now() - s.prev.at > graceMs + 2000,
  );
  if (!session || clients.rng.next() < 0.5) return;
  const old = await clients.presentRefresh(session, session.prev.token);
  if (old.status === 200) {
    violation(
      "previous_generation_accepted",
      `${session.id}: a generation rotated ${Math.round((Date.now() - session.prev.at) / 1000)} s ago was accepted`,
    );
    clients.rotated(session, session.prev.token, old);
    return;
  }
  if (old.status !== 401) return;
  const newest = await clients.presentRefresh(session, session.refresh);
  if (newest.status === 200) {
    violation("reuse_did_not_end_session", `${session.id}: the newest token still refreshes after reuse`);
    clients.rotated(session, session.refresh, newest);
    return;
  }
  session.state = "revoked";
  session.revokedAt = Date.now();
  session.audited = false;
  clients.stats.acked.revoked.reuse++;
}

/** What a session's access token and newest refresh token get now: "live" | "ended" | "mixed" | "lost". */
async function probe(clients, session, registryLive) {
  const listed = registryLive.has(session.id);
  const accessUsable = Date.now() - session.accessAt < ACCESS_TOKEN_SAFE_MS;
  const access = accessUsable ? await clients.req("GET", "/v1/sessions", { bearer: session.access }) : null;
  const refresh = await clients.presentRefresh(session, session.refresh);
  if (refresh.status === 200) clients.rotated(session, session.refresh, refresh);
  if (refresh.status === 200) clients.stats.acked.auditRefreshes++;
  // No answer, or a rate limit: nothing can be concluded from it this time.
  const undecided = (a) => a.status === 0 || a.status === 429 || a.status >= 500;
  if ((access && undecided(access)) || undecided(refresh)) return { verdict: "lost", listed, access, refresh };
  const accessOk = access ? access.status === 200 : null;
  const refreshOk = refresh.status === 200;
  return { listed, accessOk, refreshOk, refresh };
}

async function auditSession(clients, session, registryLive, violation) {
  const stats = clients.stats;
  if (session.state === "revoked" && session.audited && clients.rng.next() * 50 > REVOKED_RECHECKS) return;
  const p = await probe(clients, session, registryLive);
  if (p.verdict === "lost") return; // the service did not answer: judged next time
  const what = `${session.id} (${session.transport})`;
  if (session.state === "revoked") {
    session.audited = true;
    if (p.listed || p.accessOk || p.refreshOk)
      violation(
        "revoked_came_back",
        `${what}: revoked ${Math.round((Date.now() - session.revokedAt) / 1000)} s ago, now listed=${p.listed} access=${p.accessOk} refresh=${p.refreshOk}`,
      );
    return;
  }
  const pending = session.pending;
  const refused = session.refusedDuringLoad;
  session.pending = null;
  session.refusedDuringLoad = null;
  if (pending === null) {
    if (!p.listed && !p.refreshOk && p.accessOk !== true)
      violation("live_session_lost", `${what}: live to its client${refused ? ` (${refused})` : ""}, gone from the registry`);
    else if (!p.refreshOk)
      violation(
        "rotation_rolled_back",
        `${what}: listed=${p.listed}, access=${p.accessOk}, its newest refresh token refused (${p.refresh.body?.code})`,
      );
    else if (!p.listed || p.accessOk === false)
      violation("registry_views_disagree", `${what}: refreshes but listed=${p.listed} access=${p.accessOk}`);
    if (!p.refreshOk) end(session);
    return;
  }
  if (pending === "refresh") {
    // An unanswered rotation: the client's newest token still works (the rotation did not land,
    // or the grace window returned its successor), or it landed and this is reuse, which ends
    // the session. It cannot end a session that is not listed: nothing else touched it.
    if (p.refreshOk) stats.resolved.refreshStanding++;
    else if (!p.listed) violation("live_session_lost", `${what}: an unanswered refresh, and the session is gone from the registry`);
    else stats.resolved.refreshEndedAsReuse++;
    if (!p.refreshOk) end(session);
    return;
  }
  // An unanswered revocation or password change: either way, but one way everywhere.
  if (p.refreshOk !== p.listed || (p.accessOk !== null && p.accessOk !== p.listed))
    violation(
      "registry_views_disagree",
      `${what}: after an unanswered ${pending}: listed=${p.listed} access=${p.accessOk} refresh=${p.refreshOk}`,
    );
  if (pending === "revoke") stats.resolved[p.refreshOk ? "revocationsNotDone" : "revocationsDone"]++;
  if (!p.refreshOk) end(session);
  session.lostFor = pending;
}

/** Found ended after an unanswered call: from now on it must stay ended, like an answered revocation. */
function end(session) {
  session.state = "revoked";
  session.revokedAt = Date.now();
  session.audited = true;
}

/** Logs in with `password` and signs that new session straight out again; true when the login worked. */
async function passwordWorks(clients, user, password) {
  const result = await clients.logIn(user, password);
  if (result === "refused") return false;
  if (result === "lost") return null;
  await clients.logout(result);
  return true;
}

/**
 * Tries the old and the new password until `settled(old, new)` or `settleMs` has passed: a change
 * may reach D1's password hash through the outbox, within the same bound as the session rows.
 */
async function settledPasswords(clients, user, change, settleMs, settled) {
  const started = Date.now();
  for (;;) {
    const oldWorks = await passwordWorks(clients, user, change.old);
    const newWorks = await passwordWorks(clients, user, change.new);
    const done = oldWorks !== null && newWorks !== null && settled(oldWorks, newWorks);
    if (done) clients.stats.passwordSettleMs.push(Date.now() - started);
    if (done || oldWorks === null || newWorks === null || Date.now() - started >= settleMs) return { oldWorks, newWorks };
    await sleep(1000);
  }
}

async function passwords(clients, user, violation, settleMs) {
  const pending = user.pendingPassword;
  // The password an answered change put in force, unless the cut-off change after it replaced it.
  const inForce = pending ? pending.old : user.password;
  let pendingDone = false;
  if (pending) {
    user.pendingPassword = null;
    const { oldWorks, newWorks } = await settledPasswords(clients, user, pending, settleMs, (o, n) => o !== n);
    const ended = pending.others.filter((s) => s.state === "revoked").length;
    const kept = pending.others.length - ended;
    const detail = `${user.id}: a cut-off change left old password works=${oldWorks}, new works=${newWorks}, ${ended} of ${pending.others.length} other devices signed out`;
    if (oldWorks !== null && newWorks !== null) {
      if (oldWorks === newWorks || (oldWorks && ended > 0) || (newWorks && kept > 0)) violation("password_change_half_done", detail);
      if (newWorks && !oldWorks) {
        pendingDone = true;
        user.password = pending.new;
        user.passwordChanges++;
        clients.stats.resolved.passwordChangesDone++;
      } else if (oldWorks && !newWorks) clients.stats.resolved.passwordChangesNotDone++;
    }
  }
  for (const change of user.changedPasswords) {
    if (change.new !== inForce) continue; // a later answered change replaced it; that one is checked
    // Answered: its new password works, unless the cut-off change after it landed (checked above).
    const { oldWorks, newWorks } = pendingDone
      ? { oldWorks: await passwordWorks(clients, user, change.old), newWorks: true }
      : await settledPasswords(clients, user, change, settleMs, (o, n) => o === false && n === true);
    if (oldWorks === true || newWorks === false)
      violation("password_change_not_applied", `${user.id}: answered 204, yet old password works=${oldWorks}, new works=${newWorks}`);
  }
  user.changedPasswords = [];
}

/** The history must show every password change in force once, and none that is not. */
async function history(clients, user, violation) {
  if (user.passwordChanges === 0 && !user.hadPasswordAttempt) return;
  const reader = user.sessions.find((s) => s.state === "live" && s.pending === null);
  if (!reader) return;
  let changes = 0;
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const query = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const answer = await clients.req("GET", `/v1/security-events?${query}`, { bearer: reader.access });
    if (answer.status !== 200) return;
    changes += answer.body.events.filter((e) => e.type === "password_changed").length;
    cursor = answer.body.next_cursor;
    if (!cursor) break;
  }
  if (changes !== user.passwordChanges)
    violation("password_history_mismatch", `${user.id}: ${user.passwordChanges} password changes in force, the history shows ${changes}`);
}
