// Small statistics helpers shared by the micro-benchmarks and the load test.

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const round = (value, digits = 1) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);

/** A fixed-width text table: `rows` are arrays of cells, the first row is the header. */
export function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column] ?? "").length)));
  const line = (row) =>
    row
      .map((cell, column) =>
        String(cell ?? "")
          .padStart(column === 0 ? 0 : widths[column])
          .padEnd(column === 0 ? widths[0] : 0),
      )
      .join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}
