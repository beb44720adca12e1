"""The output of ``python -m benchmarks.compare``: a markdown section and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

MB = 1e6


def settings_text(settings: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in settings.items())


def _fmt(value: Any, spec: str, missing: str = "") -> str:
    return missing if value is None else format(value, spec)


def render_markdown(report: dict) -> str:
    """The report as a markdown section: a heading, the context and the table."""
    m, p = report["shape"]
    bw = report["bandwidth"]
    lines = [
        f"### {report['problem']}{' (QUICK size)' if report['quick'] else ''}: "
        f"{m:,} x {p:,}, lam = {report['lam']:g}, {report['threads']} threads",
        "",
        f"{report['description']}; data (X, n, k) {report['data_bytes'] / MB:,.0f} MB.  ",
        f"Machine: {report['machine']}.  ",
        f"Peers: {', '.join(f'{k} {v}' for k, v in report['versions'].items())}.  ",
        "Read bandwidth: " + ", ".join(f"{t} thread{'s' if t != '1' else ''} "
                                       f"{v / 1e9:.1f} GB/s" for t, v in bw.items()) +
        f"; floor per evaluation {1e3 * report['floor_s']:.1f} ms (data / one core's "
        "bandwidth).  ",
        f"Load average (1, 5, 15 min) before {_load(report['load_before'])}, after "
        f"{_load(report['load_after'])}.",
        "",
        f"| tool | fit s (median of {report['repeats']}) | x fastlogit | evaluations | "
        "ms / eval | x floor | objective F | gap to best | fit peak +MB | prep s | prep +MB | "
        "settings |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    notes = []
    for r in report["rows"]:
        label = r["label"]
        if "skipped" in r or "error" in r:
            why = r.get("skipped") or f"failed: {r['error']}"
            lines.append(f"| {label} | {why} |  |  |  |  |  |  |  |  |  | |")
            continue
        # the table measures time to the target gap; each tool's own verdict is in the notes
        target = report.get("target_gap")
        flag = " (gap above target)" if target is not None and r["gap"] > target else ""
        ms_eval = 1e3 * r["s_per_eval"] if r.get("s_per_eval") else None
        lines.append(
            f"| {label}{flag} | {r['fit_s']:.2f} | {_fmt(r.get('x_fastlogit'), '.1f')} | "
            f"{_fmt(r['n_eval'], 'd', '?')} | {_fmt(ms_eval, '.0f')} | "
            f"{_fmt(r.get('x_floor'), '.1f')} | {r['objective']:.12g} | {r['gap']:.1e} | "
            f"{r['fit_peak_bytes'] / MB:,.0f} | {r['prep_s']:.2f} | "
            f"{r['prep_bytes'] / MB:,.0f} | {settings_text(r['settings'])} |"
        )
        notes.append(f"{label}: {r['note']}"
                     + ("" if r["converged"] else "; its own convergence test did not hold")
                     + (f"; stopped with: {r['message']}" if r.get("message") else "")
                     + _ladder_text(r.get("ladder")))
    lines.append("")
    ref = report.get("reference_objective")
    target = report.get("target_gap")
    lines.append(
        "Gap: (F - F_best) / F_best, F_best the lowest objective found"
        + (f" (an untimed reference fit, fastlogit with factr=10, pgtol=1e-12, reached "
           f"{ref:.12g}; the best answer is polished the same way)" if ref is not None else "")
        + ". "
        + (f"Settings: each tool's loosest setting (from a ladder, one fit each, loosest "
           f"first) that reached a gap <= {target:g}; a tool that never did shows the "
           "tightest. " if target is not None else "Settings: each tool's defaults here. ")
        + "Fit peak: resident memory high-water mark during the fit above the resident "
        "memory just before it (largest over the repeats); prep: what the encoding a tool "
        "needs adds to the loaded data, and its time (not in fit s)."
    )
    lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _ladder_text(ladder: Optional[list]) -> str:
    if not ladder or len(ladder) < 2:
        return ""
    steps = [f"{settings_text(rung['settings'])}: gap {rung['gap']:.2e} in "
             f"{rung['n_eval']} evaluations, {rung['fit_s']:.1f} s" for rung in ladder]
    return "; tuning: " + "; ".join(steps)


def _load(values: Optional[list]) -> str:
    return "n/a" if not values else " / ".join(f"{v:.2f}" for v in values)


def render_chart(report: dict, path: Path) -> Optional[Path]:
    """Bars of fit seconds (log scale) and fit peak memory; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [r for r in report["rows"] if "fit_s" in r]
    if not rows:
        return None
    labels = [r["label"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.55 * len(rows) + 1.6),
                                   sharey=True, constrained_layout=True)
    colors = ["tab:orange" if r["tool"].startswith("fastlogit") else "tab:blue" for r in rows]
    secs = [r["fit_s"] for r in rows]
    ax1.barh(labels, secs, color=colors)
    ax1.set_xscale("log")
    ax1.set_xlim(min(secs) / 2, max(secs) * 8)
    ax1.set_xlabel(f"fit seconds (median of {report['repeats']}, log scale)")
    for y, (s, r) in enumerate(zip(secs, rows)):
        ax1.text(s, y, f" {s:.2f} s, {r['n_eval']} ev", va="center", fontsize=8)
    mem = [r["fit_peak_bytes"] / MB for r in rows]
    ax2.barh(labels, mem, color=colors)
    ax2.axvline(report["data_bytes"] / MB, color="gray", ls="--", lw=1)
    ax2.set_xlim(0, max(max(mem), report["data_bytes"] / MB) * 1.15)
    ax2.set_xlabel("fit peak memory above the loaded data, MB\n(dashed line: the data's size)")
    ax1.invert_yaxis()
    m, p = report["shape"]
    fig.suptitle(f"{report['problem']}{' (QUICK size)' if report['quick'] else ''}: "
                 f"{m:,} x {p:,}, lam={report['lam']:g}, {report['threads']} threads")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
