import { z } from "zod";
import { SecurityEventSchema } from "../../contract/wire-schema";
import { DAYS, ENDING_REASONS, ENDINGS_WINDOW_DAYS, HOURS, SERIES_EVENTS, type SeriesKey } from "../../db/dashboard";

/** The admin dashboard's answers (the data the /admin page draws; docs/api.md, Admin dashboard). */

const iso = z.iso.datetime().meta({ description: "ISO 8601, UTC" });
const count = z.number().int().nonnegative();
const counts = z.record(z.string(), count);

const seriesOf = (length: number) =>
  z
    .object(
      Object.fromEntries(Object.keys(SERIES_EVENTS).map((key) => [key, z.array(count).length(length)])) as Record<
        SeriesKey,
        z.ZodArray<typeof count>
      >,
    )
    .strict()
    .meta({
      description: `One count per bucket, oldest first; each counts the security events of one type: ${Object.entries(SERIES_EVENTS)
        .map(([key, type]) => `\`${key}\` = \`${type}\``)
        .join(", ")}`,
    });

const timeline = (length: number, step: number, unit: string) =>
  z
    .object({
      start: iso.meta({ description: `The start of the first bucket: a whole UTC ${unit}` }),
      step_seconds: z.literal(step),
      series: seriesOf(length),
    })
    .strict()
    .meta({ description: `${length} buckets of one ${unit}; the last is the current ${unit}, still filling` });

const TopAccount = <K extends string>(key: K) =>
  z
    .object({ user_id: z.string(), email: z.string().nullable().meta({ description: "Null if the account is gone" }), [key]: count })
    .strict() as z.ZodObject<{ user_id: z.ZodString; email: z.ZodNullable<z.ZodString> } & Record<K, typeof count>>;

export const Dashboard = z
  .object({
    generated_at: iso,
    time_zone: z.literal("UTC").meta({ description: "Every bucket is a UTC hour or day" }),
    cache_seconds: z.number().int().positive().meta({ description: "How long this answer may be served again unchanged, at most" }),
    hourly: timeline(HOURS, 3600, "hour"),
    daily: timeline(DAYS, 86_400, "day"),
    live: z
      .object({
        total: count,
        by_device_type: counts,
        by_browser: counts,
        by_os: counts,
        by_country: counts,
      })
      .strict()
      .meta({
        description:
          "Live sessions as the D1 mirror knows them: not revoked, not expired, used within the idle timeout. At most 100 keys per dimension, most sessions first; `unknown` for a null value.",
      }),
    lifetimes: z
      .object({
        ended_within_days: z.literal(ENDINGS_WINDOW_DAYS),
        buckets: z.array(
          z
            .object({
              key: z.string(),
              up_to_seconds: z
                .number()
                .int()
                .positive()
                .nullable()
                .meta({ description: "Exclusive upper bound; null for the open bucket" }),
              count,
            })
            .strict(),
        ),
      })
      .strict()
      .meta({ description: "How long the sessions that ended in the window lived, from sign-in to their end" }),
    endings: z
      .object({
        window_days: z.literal(ENDINGS_WINDOW_DAYS),
        by_reason: counts.meta({
          description: `How the sessions that ended in the window ended: a revoke reason, \`reconciled\`, \`expired\` (absolute lifetime) or \`idle\`. Every one of ${ENDING_REASONS.map((r) => `\`${r}\``).join(", ")} is present.`,
        }),
      })
      .strict(),
    top_accounts: z
      .object({
        busiest: z.array(TopAccount("sign_ins")).max(10).meta({ description: "Most sign-ins in the last 24 hours" }),
        riskiest: z
          .array(TopAccount("findings"))
          .max(10)
          .meta({ description: "Most risk findings (new device, impossible travel, network change) in the last 24 hours" }),
      })
      .strict(),
  })
  .strict()
  .meta({ id: "AdminDashboard" });

const nextCursor = z.string().nullable().meta({ description: "Where the next page starts; null on the last page" });

export const AdminEvent = z
  .object({ user_id: z.string(), email: z.string().nullable(), event: SecurityEventSchema })
  .strict()
  .meta({ id: "AdminEvent" });
export const AdminEvents = z.object({ events: z.array(AdminEvent), next_cursor: nextCursor }).strict();

const text = z.string().nullable();
export const AdminSession = z
  .object({
    id: z.string(),
    user_id: z.string(),
    email: z.string().nullable(),
    device: z.object({ name: text, browser: text, os: text, type: text }).strict(),
    ip: text,
    location: z.object({ country: text, city: text }).strict(),
    binding: z.string(),
    created_at: iso,
    last_active_at: iso.meta({ description: "As D1 knows it: up to an hour behind the registry" }),
    expires_at: iso,
    ended_at: iso.nullable().meta({ description: "Null while live; for an idle ending, last use plus the idle timeout" }),
    ending: z.string().nullable().meta({ description: "Null while live; else a revoke reason, `reconciled`, `expired` or `idle`" }),
    revoked_by_session_id: text.meta({
      description: "The session whose action ended it (its own id for a sign-out); null for admin, service, reuse, reconciled and expiries",
    }),
    confirmed: z.boolean().meta({
      description:
        "As D1 knows it: false for a session whose sign-in answer may never have reached its client (Session.confirmed); such a session is ended within 5 minutes (`sign_in_unanswered`)",
    }),
  })
  .strict()
  .meta({ id: "AdminSessionRow" });
export const AdminSessions = z.object({ sessions: z.array(AdminSession), next_cursor: nextCursor }).strict();
