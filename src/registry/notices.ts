import { iso } from "../contract/session";
import type { DeviceJson, NoticeAnswer, NoticeAnswerVia, RiskFinding, RiskNoticeJson } from "../contract/wire";

/**
 * "Was this you?" (docs/devices.md): every risk finding opens a notice about the session it is
 * about, shown on every device of the user until someone answers it. Findings stay evidence, not
 * verdicts: a notice blocks nothing. The open findings about one session are one question ("was
 * this sign-in you?"), so they are listed and answered together; each keeps its own row, whose id
 * is the finding's event id, so a link minted for any of them names the notice it answers.
 *
 * Single use: a notice is answered once. The answer is written in the same transaction as its
 * history event and (for "No") the revocation, and every later answer, on a device or by any of
 * its links, finds it answered and is refused.
 */

/** How long an unanswered notice is shown; answered ones are kept as long, so a late link says "already answered". */
export const NOTICE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

type NoticeRow = {
  id: string;
  session_id: string;
  finding: RiskFinding;
  created_at: number;
  device: string;
  location: string;
  answered_at: number | null;
  answer: NoticeAnswer | null;
};

export type NoticeOutcome =
  | { ok: true; sessionId: string; findings: RiskFinding[]; device: DeviceJson; noticeId: string }
  | { ok: false; code: "not_found" | "notice_answered" };

export class RiskNotices {
  constructor(private readonly sql: SqlStorage) {}

  /** A finding was recorded (inside its transaction): opens a notice, or joins the session's open one. Returns it as it now stands. */
  open(
    eventId: string,
    finding: RiskFinding,
    sessionId: string,
    device: DeviceJson,
    location: RiskNoticeJson["location"],
    now: number,
  ): RiskNoticeJson {
    this.sql.exec(
      "INSERT INTO risk_notices (id, session_id, finding, created_at, device, location) VALUES (?, ?, ?, ?, ?, ?)",
      eventId,
      sessionId,
      finding,
      now,
      JSON.stringify(device),
      JSON.stringify(location),
    );
    return this.list(now).find((notice) => notice.session_id === sessionId)!;
  }

  /** The open notices, one per session, oldest first. */
  list(now: number): RiskNoticeJson[] {
    const rows = this.sql
      .exec<NoticeRow>(
        "SELECT * FROM risk_notices WHERE answered_at IS NULL AND created_at > ? ORDER BY created_at, id",
        now - NOTICE_TTL_MS,
      )
      .toArray();
    const bySession = new Map<string, RiskNoticeJson>();
    for (const row of rows) {
      const known = bySession.get(row.session_id);
      if (known) {
        if (!known.findings.includes(row.finding)) known.findings.push(row.finding);
        continue;
      }
      bySession.set(row.session_id, {
        id: row.id,
        session_id: row.session_id,
        findings: [row.finding],
        device: JSON.parse(row.device),
        location: JSON.parse(row.location),
        created_at: iso(row.created_at),
      });
    }
    return [...bySession.values()];
  }

  /**
   * Answers a notice and every other open one about the same session; call inside the transaction
   * that records the answer. Refused when the notice is unknown (or too old) or already answered.
   */
  answer(noticeId: string, answer: NoticeAnswer, via: NoticeAnswerVia, now: number): NoticeOutcome {
    const row = this.sql.exec<NoticeRow>("SELECT * FROM risk_notices WHERE id = ?", noticeId).toArray()[0];
    if (!row || row.created_at <= now - NOTICE_TTL_MS) return { ok: false, code: "not_found" };
    if (row.answered_at !== null) return { ok: false, code: "notice_answered" };
    const open = this.sql
      .exec<Pick<NoticeRow, "finding">>(
        "SELECT finding FROM risk_notices WHERE session_id = ? AND answered_at IS NULL AND created_at > ? ORDER BY created_at, id",
        row.session_id,
        now - NOTICE_TTL_MS,
      )
      .toArray();
    this.sql.exec(
      "UPDATE risk_notices SET answered_at = ?, answer = ?, answered_via = ? WHERE session_id = ? AND answered_at IS NULL",
      now,
      answer,
      via,
      row.session_id,
    );
    const findings = [...new Set(open.map((r) => r.finding))];
    return { ok: true, sessionId: row.session_id, findings, device: JSON.parse(row.device), noticeId };
  }

  /** One notice by id (the link's), with its session's other findings if it is still open. */
  get(noticeId: string, now: number): { notice: RiskNoticeJson; answer: NoticeAnswer | null } | null {
    const row = this.sql.exec<NoticeRow>("SELECT * FROM risk_notices WHERE id = ?", noticeId).toArray()[0];
    if (!row || row.created_at <= now - NOTICE_TTL_MS) return null;
    const open = row.answered_at === null ? this.list(now).find((notice) => notice.session_id === row.session_id) : undefined;
    const notice = open ?? {
      id: row.id,
      session_id: row.session_id,
      findings: [row.finding],
      device: JSON.parse(row.device),
      location: JSON.parse(row.location),
      created_at: iso(row.created_at),
    };
    return { notice, answer: row.answer };
  }

  /** The alarm's pass: notices past their time are of no use to anyone. */
  prune(now: number): void {
    this.sql.exec("DELETE FROM risk_notices WHERE created_at <= ?", now - NOTICE_TTL_MS);
  }
}
