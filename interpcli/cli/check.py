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
from __future__ import annotations

import os
import sys
import time

from .programs import UsageProblem

ISOLATED = "isolated"
SHARED_ONLY = "shared-GIL only"
FAILS = "fails"
STDLIB = "stdlib"

# a child process imports this many groups, then a fresh one takes over (CPython 3.12 and
# 3.13 keep ~3 MB per interpreter ever created, until the process ends)
_JOBS_PER_CHILD = 40
_REFUSED = "does not support loading in subinterpreters"


class Group:
    """Modules imported together in one interpreter: a target's top-level modules."""

    __slots__ = ("label", "distribution", "names", "walk", "path0")

    def __init__(self, label, distribution, names, walk=True, path0=None):
        self.label = label
        self.distribution = distribution
        self.names = list(names)
        self.walk = walk
        self.path0 = path0


# ---------------------------------------------------------------- targets

def stdlib_groups() -> list[Group]:
    """Every stdlib top-level module importable here (the `test` package left out), each
    a group walked for its submodules."""
    import importlib.util
    from .._probe import SKIP, SKIP_PARTS
    groups = []
    for name in sorted(sys.stdlib_module_names):
        if name in SKIP or name in SKIP_PARTS:
            continue
        try:
            if importlib.util.find_spec(name) is None:
                continue
        except (ImportError, ValueError):
            continue
        groups.append(Group(name, STDLIB, [name]))
    return groups


def _top_level_of(dist) -> list[str]:
    """The top-level import names a distribution installs."""
    text = dist.read_text("top_level.txt")
    names = []
    if text:
        names = [n.strip().replace("/", ".") for n in text.split() if n.strip()]
    if not names:
        for f in dist.files or ():
            parts = f.parts
            if not parts or parts[0] in ("..", "") or parts[0].endswith(
                    (".dist-info", ".egg-info", ".data")) or parts[0] == "__pycache__":
                continue
            first = parts[0]
            if len(parts) == 1:
                stem = first.split(".", 1)[0]
                if first.endswith(".py") or (first.endswith((".so", ".pyd")) and stem):
                    names.append(stem)
            elif parts[1] == "__init__.py":
                names.append(first)
    return [n for n in dict.fromkeys(names)
            if n and all(p.isidentifier() for p in n.split("."))]


def distribution_group(name: str) -> Group | None:
    from importlib import metadata
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    dname = dist.metadata["Name"] or name
    return Group(dname, dname, _top_level_of(dist))


def installed_groups() -> list[Group]:
    """One group per installed distribution (the first found of each name)."""
    from importlib import metadata
    seen, groups = set(), []
    for dist in metadata.distributions():
        dname = dist.metadata["Name"]
        if not dname:
            continue
        key = dname.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        names = _top_level_of(dist)
        if names:
            groups.append(Group(dname, dname, names))
    groups.sort(key=lambda g: g.label.lower())
    return groups


def script_group(path: str) -> Group:
    """The modules a script imports (absolute imports anywhere in it), not walked."""
    import ast
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except OSError as exc:
        raise UsageProblem(f"can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}") \
            from None
    except (SyntaxError, ValueError) as exc:
        raise UsageProblem(f"can't read the imports of {path!r}: {exc}") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    names = [n for n in dict.fromkeys(names) if n != "__future__"]
    path0 = os.path.dirname(os.path.realpath(path))
    return Group(path, None, names, walk=False, path0=path0)


def resolve(targets, modules, all_installed: bool, stdlib: bool) -> list[Group]:
    """The groups to check for the command line; UsageProblem for a bad target."""
    groups: list[Group] = []
    for target in targets:
        if target.endswith(".py") or os.path.isfile(target):
            if os.path.isdir(target):
                raise UsageProblem(f"can't check {target!r}: it is a directory")
            groups.append(script_group(target))
            continue
        group = distribution_group(target)
        if group is None:
            raise UsageProblem(f"{target!r} is neither a script nor an installed "
                               "distribution (for a module, use -m NAME)")
        if not group.names:
            raise UsageProblem(f"distribution {target!r} installs no importable module")
        groups.append(group)
    for name in modules:
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise UsageProblem(f"-m {name!r}: not a module name")
        groups.append(Group(name, None, [name], path0=os.getcwd()))
    if all_installed:
        groups += installed_groups()
    if stdlib:
        groups += stdlib_groups()
    if not groups:
        raise UsageProblem("nothing to check: give a SCRIPT, -m MODULE, a DISTRIBUTION, "
                           "--all or --stdlib")
    return groups


# ---------------------------------------------------------------- probing

class ProbeFailed(Exception):
    """The probing process itself does not work (it cannot start, or cannot import
    interpcli): nothing could be checked."""


class _ChildDied(Exception):
    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


class _Child:
    """One `python -m interpcli._probe` process and its two pipes."""

    def __init__(self):
        import subprocess
        import tempfile
        jobs_r, self.jobs_w = os.pipe()
        self.out_r, out_w = os.pipe()
        self.stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "interpcli._probe", str(jobs_r), str(out_w)],
                pass_fds=(jobs_r, out_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self.stderr)
        finally:
            os.close(jobs_r)
            os.close(out_w)
        self.jobs = 0
        self.frames = 0         # received so far: none at its end means it never worked

    def send(self, job) -> None:
        from .._probe import write_frame
        self.jobs += 1
        try:
            write_frame(self.jobs_w, job)
        except OSError:
            pass        # it died: reading its output says how

    def next_frame(self, timeout: float | None):
        """The next frame; TimeoutError when none came in time; _ChildDied at its end."""
        import select
        from .._probe import read_frame
        p = select.poll()
        p.register(self.out_r, select.POLLIN | select.POLLHUP)
        if not p.poll(None if timeout is None else int(timeout * 1000) + 1):
            raise TimeoutError
        frame = read_frame(self.out_r)
        if frame is None:
            raise _ChildDied(self._how())
        self.frames += 1
        return frame

    def _how(self) -> str:
        import signal
        code = self.proc.wait()
        self.stderr.seek(0, 2)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - 4096))
        tail = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        message = ""
        for line in reversed(tail):
            line = line.strip()
            if line and not line.startswith(("File ", "Current thread", "Thread ",
                                              "Extension modules", "<")):
                message = line
                break
        if code < 0:
            try:
                what = signal.Signals(-code).name
            except ValueError:
                what = f"signal {-code}"
        else:
            what = f"exit status {code}"
        return f"{what}: {message}" if message else what

    def close(self, kill=False) -> None:
        if kill:
            try:
                self.proc.kill()
            except OSError:
                pass
        for fd in (self.jobs_w, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait()
        finally:
            self.stderr.close()


class Record:
    """What the probes found out about one module."""

    __slots__ = ("module", "group", "isolated", "shared")

    def __init__(self, module, group):
        self.module = module
        self.group = group
        self.isolated: dict | None = None    # the result frame (or a crash / timeout)
        self.shared: dict | None = None


class Checker:
    """Runs the jobs over a few child processes, one thread each, and keeps the records."""

    def __init__(self, groups, workers: int, timeout: float | None):
        import threading
        from queue import SimpleQueue
        self.groups = groups
        self.workers = max(1, workers)
        self.timeout = timeout
        self.records: dict[str, Record] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()
        self._queue = SimpleQueue()
        self._outstanding = 0
        self.broken: str | None = None      # why the probing process does not work

    def run(self) -> list[Record]:
        import threading
        for group in sorted(self.groups, key=_weight):
            self._submit((True, group, list(group.names), group.walk))
        threads = [threading.Thread(target=self._worker, daemon=True,
                                    name=f"interp-check-{i}") for i in range(self.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.broken is not None:
            raise ProbeFailed(self.broken)
        rank = {id(g): i for i, g in enumerate(self.groups)}
        return sorted((self.records[m] for m in self.order),
                      key=lambda r: (rank.get(id(r.group), 0), r.module))

    def _submit(self, job) -> None:
        with self._lock:
            self._outstanding += 1
        self._queue.put(job)

    def _job_done(self) -> None:
        with self._lock:
            self._outstanding -= 1
            last = self._outstanding == 0
        if last:
            for _ in range(self.workers):
                self._queue.put(None)

    def _record(self, module, group) -> Record:
        with self._lock:
            rec = self.records.get(module)
            if rec is None:
                rec = self.records[module] = Record(module, group)
                self.order.append(module)
            return rec

    def _worker(self) -> None:
        child = None
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                isolated = job[0]
                try:
                    if self.broken is not None:
                        continue                # nothing can be checked: drain the queue
                    if not isolated:            # a fresh process for each shared-GIL retry
                        if child is not None:
                            child.close()
                        child = None
                    child = self._do(job, child)
                finally:
                    if not isolated and child is not None:
                        child.close()
                        child = None
                    self._job_done()
        finally:
            if child is not None:
                child.close()

    def _do(self, job, child):
        """Run one job to its end (across as many children as crashes need); the child
        to use next, or None."""
        isolated, group, names, walk = job
        pending = list(names)
        failed: list[str] = []      # isolated: the modules that did not load
        refusing = False            # isolated: one of them met a refusal (or a crash)
        while pending:
            if child is None or child.jobs >= _JOBS_PER_CHILD:
                if child is not None:
                    child.close()
                child = _Child()
            child.send((isolated, pending, walk, group.path0))
            current = None
            try:
                while True:
                    frame = child.next_frame(self.timeout if current is not None else None)
                    event = frame["event"]
                    if event == "start":
                        current = frame["module"]
                        if current in pending:
                            pending.remove(current)
                        self._record(current, group)
                    elif event == "result":
                        rec = self._record(frame["module"], group)
                        if isolated:
                            rec.isolated = frame
                            if frame["error"] is not None:
                                failed.append(frame["module"])
                                refusing = refusing or _needs_shared(frame)
                        else:
                            rec.shared = frame
                        current = None
                    elif event == "queued":
                        pending[:0] = [m for m in frame["modules"] if m not in pending]
                    elif event == "error":
                        kind, message = frame["error"]
                        self.broken = f"the probe failed: {kind}: {message}"
                        pending = []
                    elif event == "done":
                        if "left" in frame:
                            child.close(kill=True)
                            child = None
                        pending = []
                        break
            except TimeoutError:
                child.close(kill=True)
                child = None
                self._failed(current, group, isolated,
                             ("TimeoutError", f"its import took over {self.timeout:g} s"))
            except _ChildDied as died:
                never_worked = child.frames == 0
                child.close()
                child = None
                if current is None:
                    pending = []        # died outside any import: give up on this job
                    if never_worked:
                        self.broken = f"the probing process ended at once ({died.how})"
                else:
                    self._failed(current, group, isolated, None, crash=died.how)
                    if isolated:
                        failed.append(current)
                        refusing = True
        if failed and refusing:     # the others may have failed for the refusing one
            self._submit((False, group, failed, False))
        return child

    def _failed(self, module, group, isolated, error, crash=None) -> None:
        if module is None:
            return
        frame = {"event": "result", "module": module, "error": error, "time": None,
                 "refused": [], "file": None, "crash": crash}
        rec = self._record(module, group)
        if isolated:
            rec.isolated = frame
        else:
            rec.shared = frame


def _weight(group: Group):
    """Big packages first, so that the last job to finish is a short one."""
    big = ("encodings", "idlelib", "email", "asyncio", "xml", "multiprocessing",
           "concurrent", "importlib", "tkinter", "unittest", "sqlite3", "pip", "setuptools",
           "hypothesis", "_pytest")
    return (0 if any(n in big for n in group.names) else 1, group.label)


def _needs_shared(frame) -> bool:
    error = frame.get("error")
    if error is None:
        return False
    return bool(frame.get("refused")) or "subinterpreter" in error[1] \
        or "mypyc" in error[1]


# ---------------------------------------------------------------- verdicts

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
            error = _error_text((shared or iso).get("error")) \
                if (shared or iso).get("error") else None
        reason = "; ".join(reasons)
    dist = rec.group.distribution
    if dist is None:
        dist = _distribution_of(rec.module)
    return {"module": rec.module, "distribution": dist, "status": status,
            "fallback": fallback, "reason": reason, "time": took, "error": error}


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
    return {"modules": len(rows), "isolated": counts[ISOLATED],
            "fallback": sum(1 for r in rows if r["fallback"]),
            "shared_gil_only": counts[SHARED_ONLY], "fails": counts[FAILS]}


def summary_line(s: dict, took: float) -> str:
    plural = "" if s["modules"] == 1 else "s"
    return (f"{s['modules']} module{plural}: {s['isolated']} load isolated "
            f"({s['fallback']} of them falling back to pure Python), "
            f"{s['shared_gil_only']} shared-GIL only, {s['fails']} fail; {took:.1f} s")


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
    for col, kw in (("module", {"overflow": "fold"}), ("distribution", {}),
                    ("loads", {"no_wrap": True}), ("pure-Python fallback", {}),
                    ("reason", {"overflow": "fold", "ratio": 1}),
                    ("time", {"justify": "right", "no_wrap": True})):
        table.add_column(col, **kw)
    styles = {ISOLATED: "green", SHARED_ONLY: "yellow", FAILS: "red"}
    for r in rows:
        table.add_row(r["module"], r["distribution"] or "",
                      f"[{styles[r['status']]}]{r['status']}[/]",
                      ", ".join(r["fallback"]), r["reason"], _fmt_time(r["time"]))
    console.print(table)


def check(targets, modules, all_installed, stdlib, result_mode, problems, workers,
          timeout) -> int:
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
    shown = [r for r in rows if r["status"] != ISOLATED or r["fallback"]] if problems \
        else rows
    if result_mode == "json":
        sys.stdout.write(json.dumps({"python": sys.version.split()[0], "summary": s,
                                     "duration": round(took, 3), "modules": shown}) + "\n")
    else:
        if shown:
            draw_table(shown, sys.stdout)
        sys.stdout.write(summary_line(s, took) + "\n")
    sys.stdout.flush()
    return 0 if s["isolated"] == s["modules"] else 1
