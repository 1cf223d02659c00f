"""The child process of `interp check`: imports modules in fresh interpreters and reports.

`python -m interpcli._probe JOBS_FD OUT_FD` reads jobs from JOBS_FD and writes frames to
OUT_FD (each a 4-byte little-endian length, then a marshalled dict). A job is
(isolated, names, walk, path0): one fresh interpreter (own GIL when isolated, else sharing
the main GIL) imports each name in turn, and with walk also every submodule found on disk
under a package (not test packages, not `__main__`). Inside it, interpcli._extensions
records each extension module that refuses to load, also when the importing code catches
the ImportError. The interpreter writes, for each module, a "start" frame before importing
it and a "result" frame after, straight to OUT_FD (file descriptors are process-wide); this
process ends each job with a "done" frame. A module that kills the process is thus known
to the parent as the last one started; a fresh child takes the rest.

Everything here runs in a separate process so that no module probed can take down the
`interp` process, and so that the memory CPython 3.12/3.13 keep per interpreter ever
created goes away with the child."""

import marshal
import os
import sys

# never imported: they do something on import (start IDLE, open a web browser) rather
# than define a module
SKIP = frozenset({"antigravity", "idlelib.idle"})
# parts of a dotted name that mark a test package or a program, not a library module
SKIP_PARTS = frozenset({"__main__", "test", "tests", "idle_test"})


def skipped(name: str) -> bool:
    """Whether `interp check` leaves the module out when walking a package."""
    return (
        name in SKIP
        or any(part in SKIP_PARTS for part in name.split(".")[1:])
        or name.split(".")[0] in SKIP_PARTS
    )


# The code run in each probing interpreter, after _JOB = (names, walk, fd, path0, skip,
# skip_parts) is bound. It imports only what a fresh interpreter already has (sys, os,
# marshal, time, the import machinery), so that the modules probed are imported by the
# probe itself; interpcli._extensions (and the core module) come first, for the hook.
PROBE_SOURCE = r"""
def _interp_check_probe(names, walk, fd, path0, skip, skip_parts):
    import sys, os, marshal, time
    ext_suffixes = sys.modules["_frozen_importlib_external"].EXTENSION_SUFFIXES
    path_finder = sys.modules["_frozen_importlib_external"].PathFinder
    from interpcli import _extensions
    _extensions.install()
    if path0 is not None:
        sys.path.insert(0, path0)

    def emit(d):
        data = marshal.dumps(d)
        data = len(data).to_bytes(4, "little") + data
        while data:
            data = data[os.write(fd, data):]

    def submodules(name, locations):
        found = set()
        for where in locations or ():
            try:
                entries = os.listdir(where)
            except OSError:
                continue
            for entry in entries:
                full = os.path.join(where, entry)
                if entry.endswith(".py"):
                    stem = entry[:-3]
                elif os.path.isdir(full):
                    if not os.path.exists(os.path.join(full, "__init__.py")):
                        continue
                    stem = entry
                else:
                    stem = next((entry[:-len(s)] for s in ext_suffixes if entry.endswith(s)),
                                None)
                if not stem or not stem.isidentifier() or stem == "__init__":
                    continue
                sub = name + "." + stem
                if sub in skip or any(p in skip_parts for p in sub.split(".")):
                    continue
                found.add(sub)
        return sorted(found)

    queue = list(names)
    locations = {}
    done = set()
    while queue:
        name = queue.pop(0)
        if name in done:
            continue
        done.add(name)
        emit({"event": "start", "module": name})
        before = len(_extensions.refusals())
        error = None
        module = None
        loaded = set(sys.modules)
        t0 = time.perf_counter()
        try:
            __import__(name)
            module = sys.modules[name]
        except BaseException as exc:
            error = (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        took = time.perf_counter() - t0
        if error is not None:   # what the failed import left half-made would mislead the next
            for stale in set(sys.modules) - loaded:
                del sys.modules[stale]
        refused = _extensions.refusals()[before:]
        emit({"event": "result", "module": name, "error": error, "time": took,
              "refused": refused, "file": getattr(module, "__file__", None)})
        if not walk:
            continue
        if module is not None:
            where = getattr(module, "__path__", None)
        else:       # its submodules are reported too, failing or not
            parent, _, _ = name.rpartition(".")
            try:
                spec = path_finder.find_spec(name, locations.get(parent) if parent else None)
            except Exception:
                spec = None
            where = spec.submodule_search_locations if spec is not None else None
        if where is not None:
            where = list(where)
            locations[name] = where
            subs = [s for s in submodules(name, where) if s not in done]
            if subs:
                emit({"event": "queued", "modules": subs})
                queue[:0] = subs

_interp_check_probe(*_JOB)
del _interp_check_probe
"""


def _emit(fd: int, frame: dict) -> None:
    data = marshal.dumps(frame)
    data = len(data).to_bytes(4, "little") + data
    while data:
        data = data[os.write(fd, data) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(fd: int):
    """The next frame from fd (a dict), or None at end of file."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, int.from_bytes(head, "little"))
    return None if body is None else marshal.loads(body)


def write_frame(fd: int, frame) -> None:
    _emit(fd, frame)


def main(jobs_fd: int, out_fd: int) -> int:
    from .interpreter import create_fresh

    while True:
        job = read_frame(jobs_fd)
        if job is None:
            return 0
        isolated, names, walk, path0 = job
        interp = create_fresh("interp-check", isolated=isolated)
        args = (list(names), bool(walk), out_fd, path0, sorted(SKIP), sorted(SKIP_PARTS))
        prelude = f"_JOB = {args!r}\n"
        setup = interp.run(prelude)
        result = interp.run(PROBE_SOURCE, filename="<interp check>") if setup.completed else setup
        if not result.completed:
            _emit(
                out_fd,
                {"event": "error", "error": (result.exc_type or "", result.exc_message or "")},
            )
        try:
            interp.close(timeout=2.0, force=True)
        except Exception as exc:  # threads a module started are still running
            _emit(out_fd, {"event": "done", "left": f"{type(exc).__name__}: {exc}"})
            return 0
        _emit(out_fd, {"event": "done"})


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
