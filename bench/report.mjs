// Turns raw measurements into results.json's shape and prints the tables.
import { percentile, round, table } from "./stats.mjs";

/**
 * One registry's in-memory cost per live session, estimated from its structures (V8, pointer
 * compression): a `#live` Map entry (key + value slots in the OrderedHashMap, ~12 B), the 26-char
 * session id string (~40 B), and a LiveSession object with 4 numeric fields (~28 B header and
 * slots + 4 boxed doubles at 12 B each, since epoch-ms values exceed the small-integer range).
 */
const IN_MEMORY_BYTES_PER_SESSION_ESTIMATE = 130;

const TARGETS = {
  strict_over_floor: { max: 1.15, text: "<= 1.15" },
  strict_over_d1_per_request: { max: 1 / 1.8, text: "<= 0.556 (1.8x faster)" },
  strict_over_better_auth: { max: 1, text: "< 1" },
  cached_over_stateless: { max: 1.25, text: "<= 1.25" },
  signin_over_pbkdf2: { max: 1.2, text: "<= 1.2" },
  strict_100_over_1_sessions: { max: 1.15, text: "<= 1.15 (flat)" },
  dpop_strict_over_strict: { max: 1.25, text: "<= 1.25" },
  dpop_refresh_over_refresh: { max: 1.3, text: "<= 1.3" },
};

export function report(micro, load, meta) {
  const v = micro.variants;
  const ratio = (a, b) => round(v[a].p50_us / v[b].p50_us, 3);
  const ratios = {
    strict_over_floor: ratio("strict", "floor"),
    strict_over_d1_per_request: ratio("strict", "d1"),
    strict_over_better_auth: ratio("strict", "better_auth"),
    cached_over_stateless: ratio("cached", "stateless"),
    signin_over_pbkdf2: ratio("signin", "pbkdf2"),
    dpop_strict_over_strict: ratio("dpop_strict", "strict"),
    dpop_refresh_over_refresh: ratio("dpop_refresh", "refresh"),
  };
  const scaling = {
    strict_p50_us: { 1: v.strict.p50_us, 10: v.strict_s10.p50_us, 100: v.strict_s100.p50_us },
    list_p50_us: { 1: v.list_s1.p50_us, 10: v.list_s10.p50_us, 100: v.list_s100.p50_us },
    strict_100_over_1_sessions: ratio("strict_s100", "strict"),
  };
  const targets = Object.fromEntries(
    Object.entries(TARGETS).map(([name, target]) => {
      const value = ratios[name] ?? scaling[name];
      return [
        name,
        {
          value,
          target: target.text,
          met:
            value !== null && value <= target.max && !(target.text.startsWith("<") && !target.text.startsWith("<=") && value >= target.max),
        },
      ];
    }),
  );
  if (load) {
    targets.load_zero_accepted_after_revoke = { value: load.accepted_after_revoke, target: "0", met: load.accepted_after_revoke === 0 };
    targets.load_zero_5xx = { value: load.errors_5xx, target: "0", met: load.errors_5xx === 0 };
  }
  const cleanup = micro.cleanup.map((pass) => {
    const times = pass.batches.map((b) => b.ms);
    return {
      expired: pass.expired,
      batch_size: pass.batchSize,
      batches: pass.batches.length,
      // The cron job runs at most CLEANUP_MAX_BATCHES batches per run (hourly), then carries on next run.
      cron_runs_needed: Math.ceil(pass.batches.length / pass.maxBatchesPerRun),
      batch_p50_ms: round(percentile(times, 50)),
      batch_max_ms: round(Math.max(...times)),
      total_ms: round(times.reduce((a, b) => a + b, 0)),
      remaining_expired: pass.remainingExpired,
    };
  });
  const points = micro.footprint;
  const first = points[0];
  const last = points[points.length - 1];
  const footprint = {
    points,
    sqlite_bytes_per_session: round((last.storageBytes - first.storageBytes) / (last.sessions - first.sessions), 0),
    in_memory_bytes_per_session_estimate: IN_MEMORY_BYTES_PER_SESSION_ESTIMATE,
  };
  const results = {
    meta: { ...meta, method: "see docs/performance.md" },
    variants: v,
    ratios,
    paired_ratios: micro.pairedRatios,
    targets,
    scaling,
    cleanup,
    footprint,
    query_plans: micro.queryPlans,
    load: load ?? { requests: null, errors_5xx: null, accepted_after_revoke: null, skipped: true },
  };
  print(results);
  return results;
}

function print(r) {
  const out = [];
  out.push("Per check, inside one workerd process, serial, interleaved rounds (per-op = batch time / ops in the batch):\n");
  out.push(
    table([
      ["variant", "p50 µs", "p99 µs", "ops/s", "ops/batch"],
      ...Object.values(r.variants).map((x) => [x.label, x.p50_us, x.p99_us, x.ops_per_s, x.ops_per_batch]),
    ]),
  );
  out.push("\nRatios of p50 (lower is better for this service):\n");
  out.push(
    table([
      ["ratio", "value", "paired", "target", "met"],
      ...Object.entries(r.targets).map(([name, t]) => [name, t.value, r.paired_ratios[name] ?? "", t.target, t.met ? "yes" : "MISSED"]),
    ]),
  );
  out.push("\nCleanup of expired D1 mirror rows (the cron job's deleteBatch, CLEANUP_BATCH_SIZE rows per batch):\n");
  out.push(
    table([
      ["expired", "batch", "batches", "cron runs", "p50 ms/batch", "max ms/batch", "total ms"],
      ...r.cleanup.map((c) => [c.expired, c.batch_size, c.batches, c.cron_runs_needed, c.batch_p50_ms, c.batch_max_ms, c.total_ms]),
    ]),
  );
  out.push(
    `\nOne user's registry: ${r.footprint.sqlite_bytes_per_session} B of SQLite per session (${r.footprint.points.map((p) => `${p.sessions}: ${p.storageBytes} B`).join(", ")}); ~${r.footprint.in_memory_bytes_per_session_estimate} B of isolate memory per live session (estimate).`,
  );
  if (!r.load.skipped) {
    const l = r.load;
    out.push(`\nMixed load, ${l.duration_s} s, ${l.connections} connections, ${l.sessions_at_start} sessions of ${l.users} users:`);
    out.push(`  ${l.requests} requests, ${round(l.requests_per_s)} req/s, latency p50 ${l.latency_ms.p50} ms, p99 ${l.latency_ms.p99} ms`);
    out.push(
      `  5xx: ${l.errors_5xx}; revocations: ${l.revocations_completed}; accepted after revocation: ${l.accepted_after_revoke}; revoked-token probes refused: ${l.revoked_probes_refused}/${l.revoked_probes}`,
    );
    out.push(`  status codes: ${JSON.stringify(l.status_codes)}`);
  }
  console.log(out.join("\n"));
}
