#!/usr/bin/env python3
"""Run CPython's own interpreters and InterpreterPoolExecutor tests against interpcli's.

    python tools/conformance.py                   # both suites, both sides, a table each
    python tools/conformance.py -k TestInterpreterCall -v
    python tools/conformance.py --suite pool      # only the executor's tests (3.14+)
    python tools/conformance.py --min-rate 0.95   # exit 1 under 95 %, on a pool test the
                                                  # stdlib passes and ours not, or a hang

The tests are those of the Python running this script, taken from its installed stdlib
(`test/test_interpreters/`: test_api, test_queues, test_channels, test_lifecycle: the
"interpreters" suite; and on 3.14+ the "pool" suite: `test/test_concurrent_futures/`'s
test_interpreter_pool and the InterpreterPool variants of test_as_completed and
test_init); nothing of them is copied into the project. Each test runs twice:

- "stdlib": unmodified, against the Python's own module (the reference count);
- "ours": with its imports pointed at interpcli.interpreters: `concurrent.interpreters`
  (3.14+), `test.support.interpreters` (3.13) and 3.14's `test.support.channels` resolve to
  interpcli.interpreters and its submodules. The redirection is an import hook installed
  by a sitecustomize module (on PYTHONPATH), so it holds in every interpreter of the test
  process, subinterpreters included, and in the Python processes the tests start. In the
  pool suite only `concurrent.futures.interpreter` (and so
  `concurrent.futures.InterpreterPoolExecutor`) resolves to interpcli.interpreters.executor:
  the tests' `concurrent.interpreters` stays the stdlib's, so they also check that the
  exceptions ours raises are the stdlib's classes.

Scope: a test that uses CPython's private C modules (`_interpreters`, `_interpqueues`,
`_interpchannels`) directly is out of scope. That is decided from the source: the test
method's own source, and that of the test module's own functions it calls, names one of
those modules (by name, or by a name the test module binds to one). Setup and teardown code
and the shared helpers of `utils.py` are the harness, not the test. Tests the stdlib
itself skips on this Python are left out of the rate.

Tests of a module run one after another in a worker process (as unittest would), each
with a deadline: a test still running at its deadline counts as hung, its worker is killed
and a new one goes on with the next test. A worker is also restarted after a failure, so
that what a failing test leaves behind cannot fail the tests after it.
"""

from __future__ import annotations

import argparse
import ast
import collections
import inspect
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
import traceback

MODULES = ("test_api", "test_queues", "test_channels", "test_lifecycle")
PACKAGE = "test.test_interpreters"
# the pool suite (3.14+): the InterpreterPoolExecutor tests of test_concurrent_futures
POOL_MODULES = ("test_interpreter_pool", "test_as_completed", "test_init")
POOL_PACKAGE = "test.test_concurrent_futures"
SUITES = {"interpreters": PACKAGE, "pool": POOL_PACKAGE}
PRIVATE = ("_interpreters", "_interpqueues", "_interpchannels")
_PRIVATE_RE = re.compile(r"\b(?:" + "|".join(PRIVATE) + r")\b")

# The import hook of the "ours" side, written as sitecustomize.py into a temporary
# directory put first on PYTHONPATH. Modules alias interpcli's: the loader hands back the
# target module itself (its own __spec__ restored), so there is one module object.
SITECUSTOMIZE = r"""
import os
import sys

_ALIASES = {
    "concurrent.interpreters": "interpcli.interpreters",
    "test.support.interpreters": "interpcli.interpreters",
    "test.support.interpreters.queues": "interpcli.interpreters._queues",
    "test.support.channels": "interpcli.interpreters.channels",
    # `from test.support.interpreters import queues` imports it under the module's name
    "interpcli.interpreters.queues": "interpcli.interpreters._queues",
}
_PREFIXES = ("concurrent.interpreters.", "test.support.interpreters.")
if os.environ.get("CONFORMANCE_SUITE") == "pool":
    # only the executor is ours: the tests' concurrent.interpreters stays the stdlib's,
    # whose exception classes ours must be (or subclass) to be caught
    _ALIASES = {"concurrent.futures.interpreter": "interpcli.interpreters.executor"}
    _PREFIXES = ()


def _target(name):
    if name in _ALIASES:
        return _ALIASES[name]
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return "interpcli.interpreters." + name[len(prefix):]
    return None


class _AliasLoader:
    def __init__(self, target):
        self.target = target
        self.spec = None

    def create_module(self, spec):
        import importlib
        module = importlib.import_module(self.target)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.spec     # module_from_spec() set the alias's spec


class _AliasFinder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        real = _target(name)
        if real is None:
            return None
        import importlib.machinery
        return importlib.machinery.ModuleSpec(name, _AliasLoader(real))

    @staticmethod
    def invalidate_caches():
        pass


sys.meta_path.insert(0, _AliasFinder)
"""


# ---------------------------------------------------------------- the worker side


def _package():
    return SUITES[os.environ.get("CONFORMANCE_SUITE", "interpreters")]


def in_suite(test, module) -> bool:
    """Whether a collected test belongs to the suite: the pool suite takes all of
    test_interpreter_pool and the InterpreterPool variants of the other modules."""
    if _package() != POOL_PACKAGE or module == "test_interpreter_pool":
        return True
    return type(test).__name__.startswith("InterpreterPool")


def _import_tests(module):
    import unittest

    name = f"{_package()}.{module}"
    loader = unittest.TestLoader()
    try:
        suite = loader.loadTestsFromName(name)
    except unittest.SkipTest as exc:
        return None, f"module skipped: {exc}"
    except Exception as exc:
        return None, _one_line(exc)
    mod = sys.modules.get(name)
    if mod is None:  # loadTestsFromName turns an import error into a failing test
        try:
            __import__(name)
        except Exception as exc:
            return None, _one_line(exc)
    return suite, None


def _flatten(suite):
    import unittest

    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def _private_names(mod) -> set:
    names = set(PRIVATE)
    for name, value in vars(mod).items():
        if getattr(value, "__name__", None) in PRIVATE and inspect.ismodule(value):
            names.add(name)
    return names


def _source_uses(src: str, names: set) -> bool:
    if _PRIVATE_RE.search(src):
        return True
    try:
        tree = ast.parse(textwrap.dedent(src))
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(tree))


def _called_module_functions(src: str, mod) -> list:
    try:
        tree = ast.parse(textwrap.dedent(src))
    except SyntaxError:
        return []
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            value = vars(mod).get(n.id)
            if inspect.isfunction(value) and value.__module__ == mod.__name__:
                found.append(value)
    return found


def out_of_scope(test) -> str | None:
    """Why the test is out of scope (it uses a private C module directly), or None."""
    method = getattr(type(test), test._testMethodName, None)
    if method is None:
        return None
    mod = sys.modules[type(test).__module__]
    names = _private_names(mod)
    seen, todo = set(), [inspect.unwrap(method)]
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        try:
            src = inspect.getsource(fn)
        except (OSError, TypeError):
            continue
        if _source_uses(src, names):
            top = fn is inspect.unwrap(method)
            return "uses a private C module" + ("" if top else f" (through {fn.__name__}())")
        todo.extend(_called_module_functions(src, mod))
    return None


def _one_line(exc) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _reason(err_text: str) -> str:
    lines = [ln for ln in err_text.strip().splitlines() if ln.strip()]
    # the last "Name: message" line of the traceback
    for ln in reversed(lines):
        if re.match(
            r"^[\w.]+(Error|Exception|Failed|Failure|Interrupt|Exit|Empty|Full|"
            r"Destroyed|Warning)\b",
            ln,
        ) or ln.startswith("AssertionError"):
            return ln[:300]
    return (lines[-1] if lines else "")[:300]


def worker_collect(modules, out):
    for module in modules:
        suite, err = _import_tests(module)
        if suite is None:
            out.write(json.dumps({"module": module, "error": err}) + "\n")
            continue
        for test in _flatten(suite):
            if not in_suite(test, module):
                continue
            tid = test.id()
            out.write(
                json.dumps({"module": module, "id": tid, "out_of_scope": out_of_scope(test)}) + "\n"
            )
    out.flush()


def worker_run(module, ids, out, stop_after_failure):
    import unittest

    if os.environ.get("CONFORMANCE_SIDE") == "ours":
        # script_helper starts Pythons with -I (no PYTHONPATH, so no import hook) unless
        # the interpreter "requires its environment": say it does, so the Python
        # processes a test starts resolve concurrent.interpreters as the test does
        from test.support import script_helper

        setattr(script_helper, "__cached_interp_requires_environment", True)
    suite, err = _import_tests(module)
    if suite is None:
        for tid in ids:
            out.write(
                json.dumps(
                    {"id": tid, "status": "error", "reason": f"test module does not import: {err}"}
                )
                + "\n"
            )
        out.flush()
        return
    tests = {t.id(): t for t in _flatten(suite)}
    for tid in ids:
        out.write(json.dumps({"start": tid}) + "\n")
        out.flush()
        test = tests.get(tid)
        if test is None:
            out.write(json.dumps({"id": tid, "status": "error", "reason": "test not found"}) + "\n")
            out.flush()
            continue
        result = unittest.TestResult()
        t0 = time.monotonic()
        try:
            test.run(result)
        except BaseException as exc:  # a KeyboardInterrupt or SystemExit out of a test
            result.errors.append((test, "".join(traceback.format_exception(exc))))
        took = time.monotonic() - t0
        if result.errors or result.failures or result.unexpectedSuccesses:
            bad = result.errors + result.failures
            reason = _reason(bad[0][1]) if bad else "unexpected success"
            status = "failed"
            detail = bad[0][1] if bad else ""
        elif result.skipped:
            status, reason, detail = "skipped", result.skipped[0][1][:300], ""
        else:
            status, reason, detail = "passed", "", ""
        out.write(
            json.dumps(
                {
                    "id": tid,
                    "status": status,
                    "reason": reason,
                    "detail": detail[-4000:],
                    "time": round(took, 3),
                }
            )
            + "\n"
        )
        out.flush()
        if status == "failed" and stop_after_failure:
            return


def worker_main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--fd", type=int, required=True)
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--module")
    ap.add_argument("--keep-going", action="store_true")
    ap.add_argument("ids", nargs="*")
    args = ap.parse_args(argv)
    out = os.fdopen(args.fd, "w", buffering=1)
    try:
        if args.collect:
            worker_collect(args.ids, out)
        else:
            worker_run(args.module, args.ids, out, not args.keep_going)
    except BaseException:
        traceback.print_exc()
    finally:
        out.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        # interpreters a test left behind must not hold up (or crash) the exit
        os._exit(0)


# ---------------------------------------------------------------- the parent side


class Side:
    """One way of running the tests: the stdlib's module or interpcli's."""

    def __init__(self, name, env, logdir):
        self.name, self.env, self.logdir = name, env, logdir


def _spawn(side, args, logname):
    r, w = os.pipe()
    log = open(os.path.join(side.logdir, logname), "ab")
    cmd = [
        sys.executable,
        "-X",
        "faulthandler",
        os.path.abspath(__file__),
        "--worker",
        "--fd",
        str(w),
        *args,
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=side.env,
        pass_fds=(w,),
        start_new_session=True,
    )
    os.close(w)
    log.close()
    return proc, os.fdopen(r, "r")


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def collect(side, modules, timeout):
    proc, rf = _spawn(side, ["--collect", *modules], "collect.log")
    try:
        out, _ = rf.read(), None
    finally:
        rf.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def run_module(side, module, ids, timeout, keep_going):
    """Run ids of one module on one side; {id: result dict}."""
    results = {}
    todo = list(ids)
    while todo:
        args = ["--module", module, *(["--keep-going"] if keep_going else []), *todo]
        proc, rf = _spawn(side, args, f"{module}.log")
        sel = selectors.DefaultSelector()
        sel.register(rf, selectors.EVENT_READ)
        current, deadline, buf = None, None, ""
        try:
            while True:
                wait = None if deadline is None else max(deadline - time.monotonic(), 0)
                if not sel.select(wait):
                    results[current] = {
                        "id": current,
                        "status": "hung",
                        "reason": f"no result after {timeout:g} s",
                    }
                    break
                chunk = os.read(rf.fileno(), 65536).decode("utf-8", "replace")
                if not chunk:
                    if current is not None:
                        results[current] = {
                            "id": current,
                            "status": "crashed",
                            "reason": f"the test process died (see {side.name}/{module}.log)",
                        }
                    break
                buf += chunk
                while "\n" in buf:
                    line, buf = buf.split("\n", 1)
                    msg = json.loads(line)
                    if "start" in msg:
                        current, deadline = msg["start"], time.monotonic() + timeout
                    else:
                        results[msg["id"]] = msg
                        current = deadline = None
        finally:
            sel.close()
            rf.close()
            _kill(proc)
        left = [t for t in todo if t not in results]
        if len(left) == len(todo):  # the worker died before it began a test
            for t in left:
                results[t] = {
                    "id": t,
                    "status": "crashed",
                    "reason": f"the test process died before the test began "
                    f"(see {side.name}/{module}.log)",
                }
            left = []
        todo = left
    return results


def run_side(side, plan, timeout, jobs, keep_going):
    results = {}
    lock = threading.Lock()
    work = list(plan.items())

    def loop():
        while True:
            with lock:
                if not work:
                    return
                module, ids = work.pop(0)
            res = run_module(side, module, ids, timeout, keep_going)
            with lock:
                results.update(res)

    threads = [threading.Thread(target=loop) for _ in range(max(1, min(jobs, len(work))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _project_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    # started with SIGINT ignored (a background job of a non-interactive shell), every
    # test process would inherit that, and the tests that send SIGINT would fail
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--suite",
        choices=("all", "interpreters", "pool"),
        default="all",
        help="test_interpreters, the InterpreterPoolExecutor tests of "
        "test_concurrent_futures (3.14+), or both (default: %(default)s)",
    )
    ap.add_argument(
        "--modules",
        default=",".join(MODULES),
        help="comma-separated test modules (default: %(default)s)",
    )
    ap.add_argument(
        "--pool-modules",
        default=",".join(POOL_MODULES),
        help="the pool suite's modules (default: %(default)s)",
    )
    ap.add_argument(
        "-k", action="append", default=[], help="only tests whose id contains this (repeatable)"
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("CONFORMANCE_TIMEOUT", 60)),
        help="deadline per test in seconds (default: %(default)s)",
    )
    ap.add_argument("-j", "--jobs", type=int, default=2, help="worker processes at once")
    ap.add_argument("--side", choices=("both", "ours", "stdlib"), default="both")
    ap.add_argument(
        "--keep-going", action="store_true", help="do not restart a worker after a failed test"
    )
    ap.add_argument(
        "--min-rate",
        type=float,
        default=None,
        help="exit 1 when ours passes fewer than this share of the in-scope "
        "test_interpreters tests (0..1), fails a pool test the stdlib "
        "passes, or when any test hangs",
    )
    ap.add_argument(
        "-v", "--verbose", action="count", default=0, help="show the traceback of each failure"
    )
    ap.add_argument("--json", help="write every result to this file")
    ap.add_argument("--logs", help="keep the test processes' output in this directory")
    args = ap.parse_args(argv)

    stdlib = sysconfig.get_paths()["stdlib"]
    plan = []
    if args.suite in ("all", "interpreters"):
        plan.append(("interpreters", [m for m in args.modules.split(",") if m]))
    if args.suite in ("all", "pool"):
        pool_modules = [m for m in args.pool_modules.split(",") if m]
        pooldir = os.path.join(stdlib, *POOL_PACKAGE.split("."))
        if os.path.exists(os.path.join(pooldir, "test_interpreter_pool.py")):
            plan.append(("pool", pool_modules))
        elif args.suite == "pool":
            print(
                f"conformance: no test_interpreter_pool in {pooldir} (3.14+; on Debian, "
                f"install libpython{sys.version_info[0]}.{sys.version_info[1]}-testsuite)",
                file=sys.stderr,
            )
            return 2
    for suite, modules in plan:
        testdir = os.path.join(stdlib, *SUITES[suite].split("."))
        missing = [m for m in modules if not os.path.exists(os.path.join(testdir, m + ".py"))]
        if missing:
            print(
                f"conformance: {', '.join(missing)} not found in {testdir} (on Debian, "
                f"install libpython{sys.version_info[0]}.{sys.version_info[1]}-testsuite)",
                file=sys.stderr,
            )
            return 2
    try:
        import interpcli.interpreters  # noqa: F401
    except Exception as exc:
        print(
            f"conformance: interpcli.interpreters does not import: {_one_line(exc)}",
            file=sys.stderr,
        )
        return 2

    sitedir = tempfile.mkdtemp(prefix="conformance-site-")
    with open(os.path.join(sitedir, "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE)
    status, summaries, dump = 0, [], {}
    try:
        for suite, modules in plan:
            ok, summary, results = run_suite(suite, modules, args, sitedir)
            summaries.append(summary)
            dump[suite] = results
            if not ok:
                status = 1
    finally:
        shutil.rmtree(sitedir, ignore_errors=True)
    if len(summaries) > 1:
        print()
        for line in summaries:
            print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": sys.version.split()[0], **dump}, f, indent=1)
    return status


def run_suite(suite, modules, args, sitedir):
    """Run one suite on the sides asked; (passes the gate, summary line, results)."""
    package = SUITES[suite]
    testdir = os.path.join(sysconfig.get_paths()["stdlib"], *package.split("."))
    logroot = (
        os.path.join(args.logs, suite) if args.logs else tempfile.mkdtemp(prefix="conformance-")
    )
    base_env = dict(os.environ)
    base_env.pop("PYTHONPATH", None)
    base_env.setdefault("PYTHONFAULTHANDLER", "1")
    base_env["CONFORMANCE_SUITE"] = suite
    ours_env = dict(base_env, PYTHONPATH=sitedir, CONFORMANCE_SIDE="ours")
    sides = []
    for name, env in (("stdlib", base_env), ("ours", ours_env)):
        if args.side in ("both", name):
            os.makedirs(os.path.join(logroot, name), exist_ok=True)
            sides.append(Side(name, env, os.path.join(logroot, name)))

    t0 = time.monotonic()
    os.makedirs(logroot, exist_ok=True)
    reference = Side("collect", base_env, logroot)
    collected = collect(reference, modules, timeout=300)
    mod_errors = {c["module"]: c["error"] for c in collected if "error" in c}
    tests = [c for c in collected if "id" in c]
    if args.k:
        tests = [t for t in tests if any(k in t["id"] for k in args.k)]
    in_scope = [t for t in tests if not t["out_of_scope"]]
    plan = collections.OrderedDict()
    for t in in_scope:
        plan.setdefault(t["module"], []).append(t["id"])

    results = {}
    for side in sides:
        results[side.name] = run_side(side, plan, args.timeout, args.jobs, args.keep_going)
    elapsed = time.monotonic() - t0

    # -- the report --
    v = sys.version.split()[0]
    print(f"{suite} conformance, Python {v}: CPython's {testdir}")
    for m, err in mod_errors.items():
        print(f"  {m}: not collected ({err})")
    stdlib_skips = {tid for tid, r in results.get("stdlib", {}).items() if r["status"] == "skipped"}
    header = f"{'module':<22}{'tests':>6}{'out':>6}{'in':>6}{'skip':>6}"
    cols = [s.name for s in sides]
    for c in cols:
        header += f"{c + ' pass':>13}"
    if "ours" in cols:
        header += f"{'fail':>6}{'hung':>6}"
    print(header)
    totals = collections.Counter()
    for m in modules:
        mt = [t for t in tests if t["module"] == m]
        mi = [t["id"] for t in mt if not t["out_of_scope"]]
        counted = [t for t in mi if t not in stdlib_skips]
        row = collections.Counter(
            tests=len(mt), out=len(mt) - len(mi), inn=len(mi), skip=len(mi) - len(counted)
        )
        for c in cols:
            row[c] = sum(results[c].get(t, {}).get("status") == "passed" for t in counted)
        if "ours" in cols:
            st = [results["ours"].get(t, {}).get("status") for t in counted]
            row["fail"] = sum(s not in ("passed", "hung") for s in st)
            row["hung"] = st.count("hung")
        totals.update(row)
        _print_row(m, row, cols, len(counted))
    counted_total = totals["inn"] - totals["skip"]
    _print_row("total", totals, cols, counted_total)

    ok, summary = True, f"{suite}: ran on one side only"
    if "ours" in cols:
        fails = [
            (tid, r)
            for tid, r in sorted(results["ours"].items())
            if tid not in stdlib_skips and r["status"] != "passed"
        ]
        if fails:
            print("\nnot passing (ours):")
            for tid, r in fails:
                name = tid.removeprefix(package + ".")
                print(f"  {r['status']:<8} {name}: {r.get('reason', '')}")
                if args.verbose and r.get("detail"):
                    print(textwrap.indent(r["detail"].rstrip(), "      | ", lambda line: True))
        rate = totals["ours"] / counted_total if counted_total else 0.0
        summary = (
            f"{suite} ({v}) ours: {totals['ours']}/{counted_total} in-scope tests pass "
            f"({rate:.1%}), {totals['fail']} fail, {totals['hung']} hung"
        )
        if "stdlib" in cols:
            summary += f"; the stdlib passes {totals['stdlib']}/{counted_total}"
        print(summary + f" [{elapsed:.0f} s]")
        if args.min_rate is not None:
            if suite == "pool":
                # every test the stdlib's executor passes must pass ours
                lost = [
                    tid
                    for tid, r in results.get("stdlib", {}).items()
                    if r["status"] == "passed"
                    and results["ours"].get(tid, {}).get("status") != "passed"
                ]
                ok = not totals["hung"] and not lost and ("stdlib" in cols or rate >= args.min_rate)
                need = "every test the stdlib passes"
            else:
                ok = not totals["hung"] and rate >= args.min_rate
                need = f"{args.min_rate:.0%}"
            if not ok:
                print(f"conformance: {suite} FAILED (needs {need} and no hang)")
    if args.logs is None:
        shutil.rmtree(logroot, ignore_errors=True)
    return ok, summary, {"tests": tests, "results": results}


def _print_row(name, row, cols, counted):
    line = f"{name:<22}{row['tests']:>6}{row['out']:>6}{row['inn']:>6}{row['skip']:>6}"
    for c in cols:
        line += f"{row[c]:>8}/{counted:<4}"
    if "ours" in cols:
        line += f"{row['fail']:>6}{row['hung']:>6}"
    print(line)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker_main(sys.argv[2:])
    else:
        sys.exit(main())
