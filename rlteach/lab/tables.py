"""The lab's results as markdown tables (the notebook displays them; benchmarks/comm_lab.py writes them):
one row per row of ``transport_benchmark``, ``knob_sweep`` and ``sync_vs_async``, the numbers rounded and the
bytes in B, kB, MB or GB. ``markdown_table`` builds every table, the benchmark scripts' as well."""

from __future__ import annotations

from rlteach.messages import tr


def markdown_table(header, rows) -> str:
    """A markdown table: ``header`` holds the column titles, each of ``rows`` the cells of one row, as strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def format_bytes(n) -> str:
    """``n`` bytes in the largest unit it reaches (B, kB, MB or GB), to 3 significant digits."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def transport_table(rows) -> str:
    header = [tr("transport"), tr("payload"), tr("data"), tr("pickled"), tr("round trip (median)"),
              tr("round trip (min)"), tr("streaming"), tr("messages/s"), tr("exact")]
    return markdown_table(header, [
        [r["transport"], tr(r["payload"]), format_bytes(r["payload_bytes"]), format_bytes(r["pickled_bytes"]),
         f"{r['latency_s'] * 1e3:.3g} ms", f"{r['latency_min_s'] * 1e3:.3g} ms", f"{format_bytes(r['bytes_per_s'])}/s",
         f"{r['messages_per_s']:,.0f}", tr("yes") if r["verified"] else tr("NO")] for r in rows])


def knob_table(rows) -> str:
    header = [tr("varied"), "env_steps_per_weight_sync", "transitions_per_message", tr("env steps/s (wall)"),
              tr("steady env steps/s"), tr("updates"), tr("lag mean"), tr("lag p90"), tr("messages"),
              tr("weight copies"), tr("message bytes"), tr("weight bytes"), tr("bytes/env step")]
    return markdown_table(header, [
        [r["varied"], str(r["env_steps_per_weight_sync"]), str(r["transitions_per_message"]),
         f"{r['steps_per_s']:,.0f}", f"{r['steady_steps_per_s']:,.0f}", f"{r['updates']:,}", f"{r['lag_mean']:.1f}",
         f"{r['lag_p90']:.0f}", f"{r['messages']:,}", f"{r['weight_pulls']:,}", format_bytes(r["message_bytes"]),
         format_bytes(r["weight_bytes"]), format_bytes(r["bytes_per_env_step"])] for r in rows])


def sync_table(rows) -> str:
    header = [tr("mode"), tr("run"), tr("env steps/s (steady)"), tr("server updates"), tr("env steps per update"),
              tr("staleness mean / max"), tr("pull-to-push median")]
    return markdown_table(header, [
        [r["mode"], str(r.get("run", 0) + 1), f"{r['steps_per_s']:,.0f}", str(r["updates"]),
         f"{r['steps_per_update']:.1f}",
         f"{r['staleness_mean']:.2f} / {r['staleness_max']}", f"{r['cycle_median_s'] * 1e3:.1f} ms"] for r in rows])
