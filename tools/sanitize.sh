#!/usr/bin/env bash
# Build interpcli's C core with ASan + UBSan in a temporary copy of the tree, run the core
# and stress tests against it (reports from every process, subprocesses included, land in
# one directory; any report fails the run), then check the C core for leaks with
# LeakSanitizer on a focused workload (tools/leak_workload.py).
#
#   tools/sanitize.sh [PYTHON [PYTEST_ARGS...]]
#       PYTHON: a python with interpcli's test dependencies (default: python3); PYTEST_ARGS
#       are added to the test run (e.g. --deselect ...); SANITIZE_SCALE sizes the stress
#       tests (default 0.2: about 3 minutes on 2 cores); SANITIZE_TESTS names the test
#       directories (default: tests/core tests/stress). Exit status 0 only when every test
#       passed and no sanitizer reported anything from interpcli's C core.
# CPython itself is not sanitized: libasan is preloaded, CPython's allocations go through
# malloc (PYTHONMALLOC=malloc) so ASan sees Python objects too, and leak detection is off
# for the test run (CPython leaks by design at exit).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${1:-python3}"
[ $# -gt 0 ] && shift
# a relative path still names the same python once the tests run in the copy (not resolved
# further: a venv's python is a symlink that must keep its own path)
case "$py" in */*) py="$(cd "$(dirname "$py")" && pwd)/$(basename "$py")";; esac
scale="${SANITIZE_SCALE:-0.2}"
read -r -a suites <<< "${SANITIZE_TESTS:-tests/core tests/stress}"
work="$(mktemp -d /tmp/interpcli-sanitize.XXXXXX)"
trap 'rm -rf "$work"' EXIT

libasan="$(gcc -print-file-name=libasan.so)"
[ -e "$libasan" ] || { echo "sanitize: libasan not found (gcc with ASan needed)" >&2; exit 2; }

mkdir -p "$work/src" "$work/reports"
cp -r "$here/interpcli" "$here/tests" "$here/examples" "$here/bench" "$here/setup.py" \
    "$here/pyproject.toml" "$here/README.md" \
    "$work/src/"
find "$work/src" \( -name '__pycache__' -o -name '*.so' -o -name '*.egg-info' \) -prune \
    -exec rm -rf {} +
"$py" "$here/tools/build_sanitized.py" "$work/src" >/dev/null

export LD_PRELOAD="$libasan"
export PYTHONMALLOC=malloc
export PYTHONPATH="$work/src"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export INTERPCLI_STRESS_SCALE="$scale"
# the copy, not the installed package, must be what runs
got="$(cd "$work" && ASAN_OPTIONS=detect_leaks=0 "$py" -c 'import interpcli._native._interpcli as c; print(c.__file__)')"
case "$got" in "$work/src/"*) ;; *) echo "sanitize: loaded $got, not the copy" >&2; exit 2;; esac

status=0
echo "=== ASan + UBSan: ${suites[*]} ($py, scale $scale)"
# deselected: timings (the parallel speed-up, run speed ratios: instrumented code is not
# what users run), the source-shape check, and the churns (CI runs them uninstrumented)
(cd "$work/src" && ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$work/reports/asan" \
    timeout 1200 "$py" -m pytest -q -p no:cacheprovider \
    "${suites[@]}" \
    --deselect tests/core/test_interpreters.py::test_two_interpreters_run_in_parallel \
    --deselect tests/core/test_run_speed.py \
    --deselect tests/core/test_package_shape.py \
    --deselect tests/stress/test_stress_churn.py::test_churn_leaves_nothing_behind \
    --deselect tests/stress/test_stress_churn.py::test_fresh_interpreter_churn_is_level_with_the_stdlib \
    "$@" 2>&1 | tee "$work/test-output.txt"; exit "${PIPESTATUS[0]}") \
    || { status=$?; echo "sanitize: the test run failed (status $status)" >&2; }
if ls "$work/reports"/* >/dev/null 2>&1; then
    echo "sanitize: ASan reports:" >&2
    cat "$work/reports"/* >&2
    status=1
fi
# gcc's UBSan runtime is not ASan's: next to ASan it ignores log_path and reports on stderr
# (then exits 1). Reports that reach this output (subprocesses whose stderr a failing test
# shows) are flagged here; one inside the pytest process kills it (pytest's fd capture
# swallows the text), which fails the run as well.
if grep -q "runtime error:\|UndefinedBehaviorSanitizer" "$work/test-output.txt"; then
    echo "sanitize: UBSan reports (above)" >&2
    status=1
fi

echo "=== LeakSanitizer: the C core on tools/leak_workload.py"
mkdir -p "$work/lsan"
# exit status 23: LSan found leaks (CPython's own count too; the filter sorts them out);
# anything else but 0 is a failure of the workload or of LSan itself
lsan_status=0
(cd "$work" && ASAN_OPTIONS="detect_leaks=1:exitcode=23:log_path=$work/lsan/lsan:malloc_context_size=12" \
    timeout 600 "$py" "$here/tools/leak_workload.py") || lsan_status=$?
case $lsan_status in
    0|23) ;;
    *) echo "sanitize: the leak workload failed (status $lsan_status)" >&2
       cat "$work"/lsan/* >&2 2>/dev/null || true
       status=1 ;;
esac
ASAN_OPTIONS=detect_leaks=0 "$py" "$here/tools/lsan_filter.py" "$work/lsan" || status=1
[ $status = 0 ] && echo "sanitize: clean" || echo "sanitize: FAILED" >&2
exit $status
