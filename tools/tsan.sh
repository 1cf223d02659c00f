#!/usr/bin/env bash
# ThreadSanitizer over interpcli's channels and interpreter registry: compile the plain-C
# stress driver (tools/tsan/driver.c) with -fsanitize=thread together with the core's
# channel.c, wait.c, notify.c, registry.c, lent.c and errors.c and the platform layer's
# waits, wake-ups and clock, and run it for a bounded time. CPython does
# not run (an uninstrumented CPython makes TSan reports noise) and libpython is not
# linked: the driver defines the few CPython functions those files call.
#
#   tools/tsan.sh [PYTHON]       PYTHON: whose headers to build against
#                                (default: python3). TSAN_SECONDS: how long the driver runs
#                                (default 30; about a minute in all on 2 cores).
#                                INTERPCLI_WAIT: the platform layer's waits to build,
#                                futex (Linux's default) or portable, as for setup.py.
# Exit status 0 when clean; non-zero on any TSan report (data race, lock-order inversion,
# ...), a broken invariant or a hang. When TSan's runtime is missing it is installed with
# apt-get if running as root on Debian/Ubuntu; otherwise the run is skipped (status 0,
# "tsan: SKIPPED" on stderr) unless TSAN_REQUIRED=1.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${1:-python3}"
seconds="${TSAN_SECONDS:-30}"
src="$here/interpcli/_native/src"
layer="$(echo "${INTERPCLI_WAIT:-futex}" | tr -d '[:space:]' | tr '[:upper:]' '[:lower:]')"
case "$layer" in
    futex) layer_flags=() ;;
    portable) layer_flags=(-DIC_PORTABLE=1) ;;
    *) echo "tsan: INTERPCLI_WAIT='$INTERPCLI_WAIT' is not a wait layer; use one of: futex, portable" >&2
       exit 2 ;;
esac

skip() {
    if [ "${TSAN_REQUIRED:-0}" = 1 ]; then
        echo "tsan: $1" >&2
        exit 2
    fi
    echo "tsan: SKIPPED: $1" >&2
    exit 0
}

command -v gcc >/dev/null || skip "no gcc"
have_tsan() { [ -e "$(gcc -print-file-name=libtsan.so)" ]; }
if ! have_tsan; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "tsan: installing ThreadSanitizer's runtime (libtsan) with apt-get" >&2
        gccmajor="$(gcc -dumpversion | cut -d. -f1)"
        apt-get update -qq >/dev/null
        # the gcc's own support package brings the libtsan that matches it
        apt-get install -y -qq "libgcc-$gccmajor-dev" >/dev/null 2>&1 \
            || apt-get install -y -qq libtsan2 >/dev/null 2>&1 || true
    fi
    have_tsan || skip "ThreadSanitizer's runtime (libtsan) is missing and could not be installed"
fi

# CPython's headers, as the Python that builds interpcli sees them
pyinc="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[ -e "$pyinc/Python.h" ] || skip "no Python.h in $pyinc (install the Python headers, e.g. python3-dev)"

work="$(mktemp -d /tmp/interpcli-tsan.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "=== ThreadSanitizer: channels and registry, $layer waits (plain-C driver, $seconds s)"
gcc -std=gnu11 -fsanitize=thread -g -O1 -fno-omit-frame-pointer -pthread \
    -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
    -I"$src" -I"$pyinc" "${layer_flags[@]}" \
    "$here/tools/tsan/driver.c" "$src/channel.c" "$src/wait.c" "$src/notify.c" "$src/registry.c" "$src/lent.c" "$src/errors.c" \
    "$src/clock.c" "$src/wake.c" "$src/wait_$layer.c" \
    -o "$work/driver" -lm

# halt at the first report, with a status no invariant failure uses
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:history_size=4:${TSAN_OPTIONS:-}"
status=0
timeout $((${seconds%.*} + 240)) "$work/driver" "$seconds" || status=$?
case $status in
    0) ;;
    66) echo "tsan: ThreadSanitizer reported a problem (above)" >&2 ;;
    1) echo "tsan: an invariant of the channels or the registry broke (above)" >&2 ;;
    3) echo "tsan: the driver hung" >&2 ;;
    124) echo "tsan: the driver did not finish in time" >&2 ;;
    *) echo "tsan: the driver failed (status $status)" >&2 ;;
esac
exit $status
