// The crash test's counts, and how they are printed.

/** Every kind of broken promise the audit looks for; each is printed, 0 or not. */
export const VIOLATION_KINDS = {
  revoked_came_back: "a revoked session's token accepted, or the session listed again",
  rotation_rolled_back: "a live session's newest answered refresh token refused",
  previous_generation_accepted: "a rotated-out token accepted after the grace window",
  reuse_did_not_end_session: "reuse refused, yet the session's newest token still works",
  live_session_lost: "a session live to its client gone from the registry",
  revoke_all_partial: "a cut-off logout-others/logout-all that ended some sessions and not others",
  password_change_not_applied: "an answered change: the old password works or the new one fails",
  password_change_half_done: "a cut-off change neither done nor undone (devices out, old password in force, ...)",
  password_history_mismatch: "password_changed events in the history differ from the changes in force",
  registry_views_disagree: "the user's session list, the admin list and the tokens disagree",
  orphan_not_ended: "a session no client holds a token for, still live 5.5 minutes after it was first seen",
  d1_not_converged: "D1 (admin history, stats) still disagreed with the registries at the limit",
};

export function newStats() {
  return {
    requests: { load: 0, audit: 0 },
    acked: {
      signups: 0,
      logins: 0,
      refreshes: 0,
      auditRefreshes: 0,
      passwordChanges: 0,
      revokeAllCalls: 0,
      revoked: { signedOut: 0, device: 0, revokeAll: 0, passwordChange: 0, reuse: 0 },
    },
    lost: { signups: 0, logins: 0, refreshes: 0, revocations: 0, passwordChanges: 0 },
    resolved: {
      signupsDone: 0,
      signupsNotDone: 0,
      refreshStanding: 0,
      refreshEndedAsReuse: 0,
      revocationsDone: 0,
      revocationsNotDone: 0,
      passwordChangesDone: 0,
      passwordChangesNotDone: 0,
    },
    latency: {},
    /** How long each password check took to see the change settled (0: at the first try). */
    passwordSettleMs: [],
    /** Per burst kind: ms from its start to its first answer, last time. */
    firstAnswer: {},
    unexpected: {},
    /** id -> { firstSeen, lastSeen, gone? } */
    orphans: new Map(),
    crashes: [],
    violations: [],
    audits: 0,
  };
}

const TRIGGERS = { early: "before any answer", answer: "at an answer", seen: "at the first revocation on a live channel" };
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

export function printCrash(record, total) {
  const where =
    record.kind === "random"
      ? `${record.requests} load requests`
      : `burst of ${record.burst}, killed ${record.afterMs} ms in (${TRIGGERS[record.trigger]}) with ${record.inFlight} in flight`;
  const d1 = record.converge.converged
    ? `D1 converged in ${seconds(record.converge.ms)}`
    : `D1 NOT converged after ${seconds(record.converge.ms)}`;
  console.log(
    `[crash ${record.index}/${total} ${record.kind}] ${where}; ${record.pids} processes killed; restart ${seconds(record.restartMs)}; ${d1}; violations ${record.violations}`,
  );
}

export function printSummary(stats, { seed, convergeLimitMs }) {
  const a = stats.acked;
  const r = a.revoked;
  const revocations = r.signedOut + r.device + r.revokeAll + r.passwordChange + r.reuse;
  const random = stats.crashes.filter((c) => c.kind === "random").length;
  const targeted = {};
  for (const c of stats.crashes) if (c.kind !== "random") targeted[c.kind] = (targeted[c.kind] ?? 0) + 1;
  const converged = stats.crashes.filter((c) => c.converge?.converged).map((c) => c.converge.ms);
  const all = stats.crashes.filter((c) => c.converge).map((c) => c.converge.ms);
  const sorted = [...all].sort((x, y) => x - y);
  const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
  const now = Date.now();
  const orphans = [...stats.orphans.values()];
  const stillLive = orphans.filter((o) => !o.gone);
  const oldest = stillLive.reduce((max, o) => Math.max(max, now - o.firstSeen), 0);
  const lines = [
    "",
    `crash-test summary (seed ${seed})`,
    `  requests              ${stats.requests.load + stats.requests.audit} (load ${stats.requests.load}, audit ${stats.requests.audit})`,
    `  acknowledged          refreshes ${a.refreshes} (and ${a.auditRefreshes} by the audit), revocations ${revocations} sessions ` +
      `(sign-out ${r.signedOut}, device ${r.device}, logout-others/all ${r.revokeAll} over ${a.revokeAllCalls} calls, ` +
      `password change ${r.passwordChange}, reuse ${r.reuse}), signups ${a.signups}, logins ${a.logins}, password changes ${a.passwordChanges}`,
    `  cut off by a crash    refreshes ${stats.lost.refreshes} (later: ${stats.resolved.refreshStanding} token still good, ${stats.resolved.refreshEndedAsReuse} landed, so reuse ended the session), ` +
      `revocations ${stats.lost.revocations} sessions (${stats.resolved.revocationsDone} done, ${stats.resolved.revocationsNotDone} not), ` +
      `password changes ${stats.lost.passwordChanges} (${stats.resolved.passwordChangesDone} done, ${stats.resolved.passwordChangesNotDone} not), ` +
      `signups ${stats.lost.signups} (${stats.resolved.signupsDone} account exists), logins ${stats.lost.logins}`,
    `  crashes               ${stats.crashes.length} (random ${random}, targeted ${stats.crashes.length - random}: ${Object.entries(
      targeted,
    )
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")})`,
    `  D1 convergence        after each restart: ${stats.crashes.map((c) => (c.converge?.converged ? seconds(c.converge.ms) : `>${seconds(convergeLimitMs)}`)).join(", ")}; ` +
      `max ${converged.length === all.length ? seconds(Math.max(0, ...all)) : `>${seconds(convergeLimitMs)}`}, median ${seconds(median)}`,
    `  orphan sessions       ${orphans.length} seen (live in the registry, no client holds a token), ${stillLive.length} still live at the end` +
      (stillLive.length ? `, oldest ${seconds(oldest)}` : ""),
  ];
  const settle = stats.passwordSettleMs;
  lines.push(
    `  passwords settled     ${settle.length} checks, slowest after ${seconds(Math.max(0, ...settle))} (retried up to the convergence limit)`,
  );
  const medians = Object.entries(stats.latency).map(
    ([kind, list]) => `${kind} ${Math.round([...list].sort((x, y) => x - y)[Math.floor(list.length / 2)])} ms`,
  );
  lines.push(`  median latency        ${medians.join(", ")}`);
  if (Object.keys(stats.unexpected).length > 0)
    lines.push(
      `  unexpected answers    ${Object.entries(stats.unexpected)
        .map(([k, n]) => `${k}: ${n}`)
        .join(", ")}`,
    );
  lines.push("  violations");
  const byKind = {};
  for (const v of stats.violations) (byKind[v.kind] ??= []).push(v);
  for (const [kind, meaning] of Object.entries(VIOLATION_KINDS)) {
    const found = byKind[kind] ?? [];
    lines.push(`    ${kind.padEnd(30)} ${String(found.length).padStart(4)}  ${meaning}`);
    for (const v of found.slice(0, 5)) lines.push(`      crash ${v.crash}: ${v.detail}`);
    if (found.length > 5) lines.push(`      … and ${found.length - 5} more`);
  }
  lines.push(stats.violations.length === 0 ? "  result: 0 violations" : `  result: ${stats.violations.length} violations`);
  console.log(lines.join("\n"));
}
