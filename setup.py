"""Builds interpcli's C core: one multi-phase extension module, importable in every
interpreter of the process. Metadata lives in pyproject.toml."""

import os
import sys
import sysconfig

from setuptools import Extension, setup

if sysconfig.get_config_var("Py_GIL_DISABLED"):
    sys.exit(
        "interpcli: free-threaded Python builds (3.13t, 3.14t) are not supported yet; "
        "use a regular CPython 3.12-3.15 build"
    )
if sys.platform == "win32":
    sys.exit(
        "interpcli: Windows is not supported yet (its platform layer has no Windows "
        "implementation; see interpcli/_native/src/platform.h)"
    )

# The platform layer's waits (interpcli/_native/src/platform.h): futexes and eventfds on
# Linux, the portable layer (mutexes, pipes, poll) elsewhere; INTERPCLI_WAIT picks one.
WAIT_LAYERS = ("futex", "portable")
WAIT = os.environ.get("INTERPCLI_WAIT", "").strip().lower() or (
    "futex" if sys.platform.startswith("linux") else "portable"
)
if WAIT not in WAIT_LAYERS:
    sys.exit(
        f"interpcli: INTERPCLI_WAIT={os.environ['INTERPCLI_WAIT']!r} is not a wait layer; "
        f"use one of: {', '.join(WAIT_LAYERS)}"
    )
if WAIT == "futex" and not sys.platform.startswith("linux"):
    sys.exit("interpcli: INTERPCLI_WAIT=futex needs Linux; use INTERPCLI_WAIT=portable")

SOURCES = [
    "errors.c",
    "registry.c",
    "lent.c",
    "wait.c",
    "channel.c",
    "ends.c",
    "transfer.c",
    "module.c",
    "calls.c",
    "spare.c",
    "lifecycle.c",
    "tstate.c",
    "run.c",
    "mainthread.c",
    "outcome.c",
    "notify.c",
    "notifier.c",
    "exitsteps.c",
    "sigfwd.c",
    "lock.c",
    "lockwait.c",
    "clock.c",
    "wake.c",
    f"wait_{WAIT}.c",
]

setup(
    # the `interp` command (pip points its `#!python` line at the installing interpreter)
    scripts=["scripts/interp"],
    data_files=[("share/man/man1", ["man/interp.1"])],  # `man interp` in the venv or prefix
    ext_modules=[
        Extension(
            "interpcli._native._interpcli",
            sources=[f"interpcli/_native/src/{name}" for name in SOURCES],
            include_dirs=["interpcli/_native/src"],
            define_macros=[("IC_PORTABLE", "1")] if WAIT == "portable" else [],
            extra_compile_args=[
                "-std=gnu11",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
                "-Wno-cast-function-type",
            ],
        )
    ],
)
