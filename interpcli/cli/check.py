"""`interp check`: which modules can run in an isolated interpreter, told in advance.

Each target (a script's imports, a `-m` module, an installed distribution's top-level
modules, every installed distribution, or the stdlib) is imported, with its submodules, in
a fresh isolated interpreter; the modules that fail there because an extension refused
(or would crash the process) are tried again in a fresh shared-GIL interpreter. All the
importing happens in child processes (interpcli._probe), a few at once: a module that
kills its process is reported as crashing, and the check goes on in a new child.

Each module gets one of three statuses: "isolated" (it loads in an own-GIL interpreter;
perhaps falling back to pure Python because one of its extensions refused there),
"shared-GIL only", or "fails" (in both), with the reason (single-phase init, no
per-interpreter GIL support, a known crash, the error) and the time its import took."""

import os
import sys
import time

from .check_probes import Checker, ProbeFailed, Record
from .check_targets import STDLIB, resolve

ISOLATED = "isolated"
SHARED_ONLY = "shared-GIL only"
FAILS = "fails"
_REFUSED = "does not support loading in subinterpreters"


def _init_kind(path: str) -> str | None:
    """'multi' when an extension file initializes in multi-phase (it calls
    PyModuleDef_Init), 'single' when it does not, None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return "multi" if b"PyModuleDef_Init\0" in data else "single"


def extension_reason(name: str, path: str, message: str) -> str:
    """Why one extension module refused, in a few words."""
    from .._extensions import is_known_crash

    if "mypyc" in message or (path and is_known_crash(path)):
        return f"known crash: {name} is mypyc-compiled"
    if _REFUSED in message:
        kind = _init_kind(path) if path else None
        if kind == "single":
            return f"single-phase init ({name})"
        where = f"{name}, built in" if not path else name
        return f"no per-interpreter GIL support ({where})"
    return f"{name}: {message}"


def verdict(rec: Record) -> dict:
    """The row of one module: status, fallback, reason, time (seconds or None)."""
    iso, shared = rec.isolated or {}, rec.shared
    refused = iso.get("refused") or []
    reasons = list(dict.fromkeys(extension_reason(*r) for r in refused))
    fallback = []
    if iso.get("error") is None and not iso.get("crash") and rec.isolated is not None:
        status = ISOLATED
        fallback = list(dict.fromkeys(r[0] for r in refused))
        took = iso.get("time")
        reason = "; ".join(reasons)
        error = None
    else:
        if iso.get("crash"):
            reasons.append(f"crashes the process when isolated ({iso['crash']})")
        elif not reasons and iso.get("error"):
            reasons.append(_error_text(iso["error"]))
        if shared is not None and shared.get("error") is None and not shared.get("crash"):
            status = SHARED_ONLY
            took = shared.get("time")
            error = _error_text(iso["error"]) if iso.get("error") else None
        else:
            status = FAILS
            took = iso.get("time")
            if shared is not None:
                if shared.get("crash"):
                    reasons.append(f"crashes the process ({shared['crash']})")
                elif shared.get("error") and _error_text(shared["error"]) not in reasons:
                    reasons.append("shared GIL: " + _error_text(shared["error"]))
            error = (
                _error_text((shared or iso).get("error")) if (shared or iso).get("error") else None
            )
        reason = "; ".join(reasons)
    dist = rec.group.distribution
    if dist is None:
        dist = _distribution_of(rec.module)
    return {
        "module": rec.module,
        "distribution": dist,
        "status": status,
        "fallback": fallback,
        "reason": reason,
        "time": took,
        "error": error,
    }


def _error_text(error) -> str:
    kind, message = error
    return f"{kind}: {message}" if message else kind


_DISTS = None


def _distribution_of(module: str) -> str:
    """The installed distribution providing a module ('stdlib' for the stdlib's, '' when
    none is known: a module beside the script, or in the current directory)."""
    global _DISTS
    top = module.split(".")[0]
    if top in sys.stdlib_module_names:
        return STDLIB
    if _DISTS is None:
        from importlib import metadata

        try:
            _DISTS = metadata.packages_distributions()
        except Exception:
            _DISTS = {}
    return ", ".join(_DISTS.get(top, ()))


# ---------------------------------------------------------------- output


def summary(rows) -> dict:
    counts = {ISOLATED: 0, SHARED_ONLY: 0, FAILS: 0}
    for row in rows:
        counts[row["status"]] += 1
    return {
        "modules": len(rows),
        "isolated": counts[ISOLATED],
        "fallback": sum(1 for r in rows if r["fallback"]),
        "shared_gil_only": counts[SHARED_ONLY],
        "fails": counts[FAILS],
    }


def summary_line(s: dict, took: float) -> str:
    plural = "" if s["modules"] == 1 else "s"
    return (
        f"{s['modules']} module{plural}: {s['isolated']} load isolated "
        f"({s['fallback']} of them falling back to pure Python), "
        f"{s['shared_gil_only']} shared-GIL only, {s['fails']} fail; {took:.1f} s"
    )


def _fmt_time(t) -> str:
    if t is None:
        return "-"
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def draw_table(rows, out) -> None:
    from rich.console import Console
    from rich.table import Table

    from .._term import columns, isatty, no_color

    # on a terminal, its width; in a file or a pipe, wide enough for a reason in one line
    width = columns() if isatty(out) else max(columns(), 200)
    console = Console(file=out, no_color=no_color(), highlight=False, width=width)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col, kw in (
        ("module", {"overflow": "fold"}),
        ("distribution", {}),
        ("loads", {"no_wrap": True}),
        ("pure-Python fallback", {}),
        ("reason", {"overflow": "fold", "ratio": 1}),
        ("time", {"justify": "right", "no_wrap": True}),
    ):
        table.add_column(col, **kw)
    styles = {ISOLATED: "green", SHARED_ONLY: "yellow", FAILS: "red"}
    for r in rows:
        table.add_row(
            r["module"],
            r["distribution"] or "",
            f"[{styles[r['status']]}]{r['status']}[/]",
            ", ".join(r["fallback"]),
            r["reason"],
            _fmt_time(r["time"]),
        )
    console.print(table)


def check(targets, modules, all_installed, stdlib, result_mode, problems, workers, timeout) -> int:
    """`interp check`: the exit status (0: every module loads isolated, 1: some do not)."""
    import json

    start = time.monotonic()
    groups = resolve(targets, modules, all_installed, stdlib)
    if workers is None:
        workers = min(os.cpu_count() or 2, 4)
    try:
        records = Checker(groups, workers, timeout).run()
    except ProbeFailed as exc:
        from . import report

        report.error(f"check: {exc}")
        return 1
    rows = [verdict(r) for r in records]
    took = time.monotonic() - start
    s = summary(rows)
    shown = [r for r in rows if r["status"] != ISOLATED or r["fallback"]] if problems else rows
    if result_mode == "json":
        sys.stdout.write(
            json.dumps(
                {
                    "python": sys.version.split()[0],
                    "summary": s,
                    "duration": round(took, 3),
                    "modules": shown,
                }
            )
            + "\n"
        )
    else:
        if shown:
            draw_table(shown, sys.stdout)
        sys.stdout.write(summary_line(s, took) + "\n")
    sys.stdout.flush()
    return 0 if s["isolated"] == s["modules"] else 1
