// `node bench/markdown.mjs`: prints bench/results.json as the Markdown tables docs/performance.md shows.
// `node bench/markdown.mjs --write docs/performance.md` replaces the tables between the markers there.
import { readFileSync, writeFileSync } from "node:fs";

const r = JSON.parse(readFileSync(new URL("./results.json", import.meta.url), "utf8"));
const row = (cells) => `| ${cells.join(" | ")} |`;
const head = (cells) => [row(cells), row(cells.map(() => "---"))].join("\n");
const out = [];

out.push(head(["variant", "p50 µs", "p99 µs", "ops/s", "ops per batch", "batches"]));
for (const v of Object.values(r.variants)) out.push(row([v.label.trim(), v.p50_us, v.p99_us, v.ops_per_s, v.ops_per_batch, v.batches]));
out.push("");
out.push(head(["ratio", "ratio of p50s", "median of per-round ratios", "target", "met"]));
for (const [name, t] of Object.entries(r.targets))
  out.push(row([`\`${name}\``, t.value, r.paired_ratios?.[name] ?? "", t.target, t.met ? "yes" : "**missed**"]));
out.push("");
if (r.variants.admission) {
  // Sign-in's phases as the route runs them: admission beside the lookup, then PBKDF2, then the session.
  const p50 = (key) => r.variants[key].p50_us;
  const before = Math.max(p50("admission"), p50("users_by_email"));
  const serial = before + p50("pbkdf2") + p50("create_session") + p50("sign_token");
  out.push(head(["sign-in phase (p50, measured alone)", "µs", "share of sign-in"]));
  const share = (us) => `${Math.round((100 * us) / p50("signin"))}%`;
  for (const [label, us] of [
    ["limiter admission (IP + account, parallel) and settle", p50("admission")],
    ["D1 user lookup by email (beside the admission)", p50("users_by_email")],
    ["PBKDF2-SHA256, 100,000 iterations", p50("pbkdf2")],
    ["registry signIn", p50("create_session")],
    ["sign the access token", p50("sign_token")],
    ["serial path: max(admission, lookup) + PBKDF2 + signIn + sign", serial],
    ["the login route, measured (8)", p50("signin")],
    ["after the answer: the D1 mirror upsert", p50("mirror_write")],
    ["passkey sign-in, measured (8p)", p50("passkey_signin")],
  ])
    out.push(row([label, us, share(us)]));
  out.push("");
}
out.push(head(["live sessions of the user", "strict p50 µs", "list p50 µs"]));
for (const n of ["1", "10", "100"]) out.push(row([n, r.scaling.strict_p50_us[n], r.scaling.list_p50_us[n]]));
out.push("");
out.push(head(["expired rows", "ops per batch", "batches", "p50 ms/batch", "max ms/batch", "total ms", "expired left"]));
for (const c of r.cleanup)
  out.push(row([c.expired, c.batch_size, c.batches, c.batch_p50_ms, c.batch_max_ms, c.total_ms, c.remaining_expired]));
out.push("");
out.push(head(["live sessions in one registry", "SQLite bytes"]));
for (const p of r.footprint.points) out.push(row([p.sessions, p.storageBytes]));
out.push("");
out.push(head(["one registry: mode", "concurrent callers", "checks/s", "p50 ms", "p99 ms", "max ms", "errors"]));
for (const x of r.one_registry_under_pressure ?? [])
  out.push(row([x.mode, x.callers, x.checks_per_s, x.p50_ms, x.p99_ms, x.max_ms, JSON.stringify(x.errors).replaceAll('"', "")]));
out.push("");
out.push(head(["query", "plan"]));
for (const q of r.query_plans)
  out.push(row([q.name, q.plan.length ? q.plan.map((line) => `\`${line}\``).join("<br>") : `(none) ${q.note ?? ""}`]));
if (!r.load.skipped) {
  const l = r.load;
  out.push("");
  out.push(head(["load", "value"]));
  const lines = [
    ["duration, connections", `${l.duration_s} s, ${l.connections}`],
    ["users, sessions at start", `${l.users}, ${l.sessions_at_start}`],
    ["requests (throughput)", `${l.requests} (${l.requests_per_s} req/s)`],
    ["latency p50 / p99 / max", `${l.latency_ms.p50} / ${l.latency_ms.p99} / ${l.latency_ms.max} ms`],
    ["5xx", l.errors_5xx],
    ["revocations completed", l.revocations_completed],
    ["requests accepted after their session's revocation returned", l.accepted_after_revoke],
    ["revoked-token probes refused", `${l.revoked_probes_refused} of ${l.revoked_probes}`],
    [
      "status codes",
      Object.entries(l.status_codes)
        .map(([c, n]) => `${c}: ${n}`)
        .join(", "),
    ],
  ];
  for (const line of lines) out.push(row(line));
  const p = l.revocation_probe;
  out.push("");
  out.push(head(["revocation, from the revoking call's 204", "p50 ms", "p99 ms", "notes"]));
  out.push(
    row([
      "live socket hears `session_revoked`",
      p.revocation_to_socket_p50_ms,
      p.revocation_to_socket_p99_ms,
      `${p.revocations} revocations; ${p.socket_frame_before_response} frames came before the 204 (counted as 0; raw p50 ${p.revocation_to_socket_raw_p50_ms} ms); ${p.socket_frames_missing} missing`,
    ]),
  );
  out.push(
    row([
      "the device's next request answered (refused)",
      p.revocation_to_refusal_p50_ms,
      p.revocation_to_refusal_p99_ms,
      `${p.accepted_after_revoke} of ${p.revocations} accepted`,
    ]),
  );
  out.push("");
  out.push(
    head([
      "scope (route, or registry method)",
      "calls",
      "D1 statements / 1,000",
      "D1 writes / 1,000",
      "SQLite writes / 1,000",
      "SQLite rows written / 1,000",
    ]),
  );
  for (const [scope, t] of Object.entries(l.storage))
    out.push(
      row([
        `\`${scope}\``,
        t.calls,
        t.per_1000.d1_statements,
        t.per_1000.d1_writes,
        t.per_1000.sqlite_writes,
        t.per_1000.sqlite_rows_written,
      ]),
    );
}
const tables = out.join("\n");
const target = process.argv[2] === "--write" ? process.argv[3] : undefined;
if (target) {
  const doc = readFileSync(target, "utf8");
  const begin = "<!-- bench:results -->";
  const end = "<!-- /bench:results -->";
  if (!doc.includes(begin) || !doc.includes(end)) throw new Error(`${target} has no ${begin} … ${end} markers`);
  const stamp = `Run of ${r.meta.started} (${r.meta.cpus} CPUs, ${r.meta.cpu_model ?? "unknown CPU"}, Node ${r.meta.node}).\n\n`;
  writeFileSync(target, `${doc.slice(0, doc.indexOf(begin) + begin.length)}\n${stamp}${tables}\n${doc.slice(doc.indexOf(end))}`);
} else console.log(tables);
