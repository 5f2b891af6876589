"""The readable report (plain text for the terminal, Markdown for bench/README.md) and goals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import Json

#: Goals from the project's issue.
SIGNING_GOAL_RATIO = 2.0  # in-process EDC signing: at least twice the peer's rate
HTTP_GOAL_RATIO = 1.0  # issuing over HTTP: at least the peer's in-process signing rate


def _number(value: Any, digits: int = 1) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _peer_rate(results: Json, peer_key: str) -> float | None:
    """The peer's rate for ``sign/rdfc`` etc. (from the first of our cases paired with it)."""
    for name, case in results.get("inprocess", {}).get("cases", {}).items():
        if name.split(" (", 1)[0] == peer_key and "peer" in case:
            rate: float = case["peer"]["per_second"]
            return rate
    return None


def inprocess_rows(results: Json) -> list[list[str]]:
    rows = []
    for key, case in results.get("inprocess", {}).get("cases", {}).items():
        mine, theirs = case["ours"], case.get("peer", {})
        ratio = case.get("ratio")
        rows.append(
            [
                key,
                _number(mine["per_second"]),
                _number(mine["p50_ms"], 2),
                _number(theirs.get("per_second")),
                _number(theirs.get("p50_ms"), 2),
                f"{ratio:.2f}×" if ratio else "–",
                " ".join(f"{r:.2f}" for r in case.get("ratios", [])),
            ]
        )
    for key, mine in results.get("inprocess", {}).get("steps", {}).items():
        rows.append([key, _number(mine["per_second"]), _number(mine["p50_ms"], 2), "", "", "", ""])
    return rows


INPROCESS_HEADERS = [
    "in-process (1 core)",
    "ours /s",
    "ours p50 ms",
    "peer /s",
    "peer p50 ms",
    "ours ÷ peer",
    "ratio per round",
]


def interop_rows(results: Json) -> list[list[str]]:
    return [
        [check["name"], "pass" if check["passed"] else "FAIL", check.get("detail", "")]
        for check in results.get("interop", [])
    ]


def _scenario_rate(result: Json) -> tuple[str, str]:
    if "credentials_per_second" in result:
        return _number(result["credentials_per_second"]), "cred/s"
    return _number(result.get("per_second")), "req/s"


def http_rows(results: Json) -> list[list[str]]:
    rows = []
    configurations = results.get("http", [])
    names: list[str] = []
    for configuration in configurations:
        for name in configuration.get("scenarios", {}):
            if name not in names:
                names.append(name)
    for name in names:
        for configuration in configurations:
            label = f"{configuration['database']} ×{configuration['workers']}"
            if "error" in configuration:
                continue
            result = configuration["scenarios"].get(name)
            if result is None:
                continue
            if "not_measured" in result or "error" in result:
                why = result.get("not_measured") or result.get("error", "")
                rows.append([name, label, "not measured", "", "", "", "", why[:70]])
                continue
            if name == "status-list/after-revoke":
                rows.append(
                    [
                        name,
                        label,
                        "1 request",
                        _number(result.get("after_change_ms"), 1),
                        "",
                        "",
                        "",
                        f"then cached: {_number(result.get('cached_ms'), 1)} ms",
                    ]
                )
                continue
            rate, unit = _scenario_rate(result)
            latency = result.get("latency", {})
            failures = result.get("sent", 0) - result.get("ok", 0)
            notes = []
            if failures:
                statuses = ", ".join(f"{k}×{v}" for k, v in result.get("statuses", {}).items())
                errors = ", ".join(f"{k}×{v}" for k, v in result.get("errors", {}).items())
                notes.append(f"not ok: {failures} ({statuses} {errors})".strip())
            if name == "batch":
                notes.append(f"{result.get('items')} items: {result.get('batch_items')}")
            runs = result.get("runs", [])
            if len(runs) > 1:
                notes.append("runs " + " / ".join(_number(run["per_second"]) for run in runs))
            rows.append(
                [
                    name,
                    label,
                    f"{rate} {unit}",
                    _number(latency.get("p50_ms")),
                    _number(latency.get("p99_ms")),
                    f"{result.get('ok', 0)}/{result.get('sent', 0)}",
                    f"{100 * result.get('client_cpu', 0):.0f}%",
                    "; ".join(notes),
                ]
            )
    return rows


HTTP_HEADERS = [
    "HTTP scenario",
    "database ×workers",
    "rate",
    "p50 ms",
    "p99 ms",
    "ok/sent",
    "client CPU",
    "notes",
]


def goals(results: Json) -> list[Json]:
    """The issue's two goals, judged on this run's figures (None when not measurable)."""
    judged: list[Json] = []
    for key, case in results.get("inprocess", {}).get("cases", {}).items():
        if not key.startswith("sign/"):
            continue
        ratio = case.get("ratio")
        judged.append(
            {
                "goal": f"in-process EDC signing, {key[5:]}, ≥ {SIGNING_GOAL_RATIO:.0f}× the peer",
                "ours": case["ours"]["per_second"],
                "peer": case.get("peer", {}).get("per_second"),
                "ratio": ratio,
                "met": None if ratio is None else ratio >= SIGNING_GOAL_RATIO,
            }
        )
    for configuration in results.get("http", []):
        for suite in ("rdfc", "jcs"):
            result = configuration.get("scenarios", {}).get(f"issue/{suite}", {})
            peer_rate = _peer_rate(results, f"sign/{suite}")
            mine = result.get("per_second")
            ratio = mine / peer_rate if mine and peer_rate else None
            judged.append(
                {
                    "goal": (
                        f"HTTP issue ({suite}), {configuration['database']} "
                        f"×{configuration['workers']} ≥ peer in-process signing"
                    ),
                    "ours": mine,
                    "peer": peer_rate,
                    "ratio": ratio,
                    "met": None if ratio is None else ratio >= HTTP_GOAL_RATIO,
                }
            )
    return judged


def goal_rows(results: Json) -> list[list[str]]:
    return [
        [
            goal["goal"],
            _number(goal["ours"]),
            _number(goal["peer"]),
            f"{goal['ratio']:.2f}×" if goal["ratio"] else "–",
            {True: "met", False: "NOT met", None: "not measured"}[goal["met"]],
        ]
        for goal in results.get("goals", [])
    ]


GOAL_HEADERS = ["goal", "ours /s", "peer /s", "ratio", "today"]


def profile_rows(results: Json) -> list[list[str]]:
    profile = results.get("profile", {})
    rows = []
    for suite, figures in profile.get("stages", {}).items():
        total = figures["request_ms"]
        stages = dict(figures["stages_ms"])
        stages["rest: HTTP/ASGI, validation, auth, status logic, JSON"] = figures["rest_ms"]
        for number, (stage, milliseconds) in enumerate(stages.items()):
            label = "  " * stage.count(" > ") + stage.split(" > ")[-1]
            share = f"{100 * milliseconds / total:.0f}%" if total else "–"
            rows.append([suite if number == 0 else "", label, _number(milliseconds, 2), share])
        rows.append(["", "= one request (in-process ASGI)", _number(total, 1), "100%"])
    return rows


PROFILE_HEADERS = ["suite", "stage of POST /microcredentials", "ms", "share"]


def cprofile_rows(results: Json) -> list[list[str]]:
    packages = results.get("profile", {}).get("cprofile_rdfc", {}).get("packages", {})
    return [
        [name, _number(value["ms"], 1), f"{100 * value['share']:.0f}%"]
        for name, value in packages.items()
        if value["share"] >= 0.005
    ]


CPROFILE_HEADERS = ["own CPU by package (rdfc, under cProfile)", "ms", "share"]


#: Other processes using more than this many cores on average make a section's figures suspect.
BUSY_MACHINE_CORES = 0.25


def load_rows(results: Json) -> list[list[str]]:
    return [
        [
            name,
            _number(section["seconds"], 0),
            _number(section["bench_cores"], 2),
            _number(section["postgres_cores"], 2),
            _number(section["others_cores"], 2)
            + (" (busy)" if section["others_cores"] > BUSY_MACHINE_CORES else ""),
        ]
        for name, section in results.get("machine_load", {}).items()
    ]


LOAD_HEADERS = [
    "part of the run",
    "seconds",
    "bench cores",
    "PostgreSQL cores",
    "other processes cores",
]


def render(results: Json, *, markdown: bool) -> str:
    machine = results["machine"]
    heading = "### " if markdown else "== "
    parts = [
        (
            f"{machine['date']} · {machine['cpu_model']} · {machine['cores']} cores · "
            f"{machine['memory_gib']} GiB · Python {machine['python']} · Node "
            f"{machine.get('node') or '–'} · PostgreSQL {results.get('postgres') or '–'} · "
            f"commit {machine.get('commit') or '–'}"
        ),
    ]
    sections = [
        ("In-process: the EDC micro-credential", INPROCESS_HEADERS, inprocess_rows(results)),
        ("Interoperability with the peer", ["check", "result", "detail"], interop_rows(results)),
        ("Goals, judged on this run", GOAL_HEADERS, goal_rows(results)),
        ("HTTP (microcred serve, load from another process)", HTTP_HEADERS, http_rows(results)),
        ("Where one EDC issue's time goes", PROFILE_HEADERS, profile_rows(results)),
        ("CPU by package", CPROFILE_HEADERS, cprofile_rows(results)),
        ("Machine load (CPU used meanwhile, in cores)", LOAD_HEADERS, load_rows(results)),
    ]
    for title, headers, rows in sections:
        if rows:
            parts.append(f"{heading}{title}\n\n{table(headers, rows, markdown=markdown)}")
        if title.startswith("In-process") and results.get("oxigraph_fast_path"):
            verdicts = results["oxigraph_fast_path"]
            parts.append(
                "pyoxigraph fast path for the EDC: "
                + ", ".join(f"{what}: {verdict}" for what, verdict in verdicts.items())
                + f" (EDC: {results.get('edc_bytes', 0):,} bytes of JSON)"
            )
    for configuration in results.get("http", []):
        if "error" in configuration:
            parts.append(
                f"{configuration['database']} ×{configuration['workers']}: not measured: "
                f"{configuration['error'][:500]}"
            )
    if results.get("failures"):
        parts.append("FAILURES:\n" + "\n".join(f"- {f}" for f in results["failures"]))
    return "\n\n".join(parts) + "\n"


FIGURES_START = "<!-- figures:start (written by python -m bench --write-readme) -->"
FIGURES_END = "<!-- figures:end -->"


def write_readme(readme: Path, markdown: str) -> None:
    """Replace the figures between the README's markers with this run's tables."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(FIGURES_START), text.find(FIGURES_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no figures markers")
    head = text[: start + len(FIGURES_START)]
    readme.write_text(f"{head}\n\n{markdown.strip()}\n\n{text[end:]}", encoding="utf-8")
