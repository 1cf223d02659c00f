"""Builds interpcli's C core: one multi-phase extension module, importable in every
interpreter of the process. Metadata lives in pyproject.toml."""
import sys
import sysconfig

from setuptools import Extension, setup

if sysconfig.get_config_var("Py_GIL_DISABLED"):
    sys.exit("interpcli: free-threaded Python builds (3.13t, 3.14t) are not supported yet; "
             "use a regular CPython 3.12-3.15 build")
if not sys.platform.startswith("linux"):
    sys.exit("interpcli: Linux only for now (its channels wait on futexes)")

SOURCES = ["errors.c", "registry.c", "lent.c", "wait.c", "channel.c", "ends.c", "transfer.c",
           "module.c", "calls.c", "spare.c", "lifecycle.c", "tstate.c", "run.c", "mainthread.c",
           "outcome.c", "notify.c", "notifier.c", "exitsteps.c", "sigfwd.c"]

setup(
    # the `interp` command (pip points its `#!python` line at the installing interpreter)
    scripts=["scripts/interp"],
    data_files=[("share/man/man1", ["man/interp.1"])],   # `man interp` in the venv or prefix
    ext_modules=[Extension(
        "interpcli._native._interpcli",
        sources=[f"interpcli/_native/src/{name}" for name in SOURCES],
        include_dirs=["interpcli/_native/src"],
        extra_compile_args=["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                            "-Wno-missing-field-initializers", "-Wno-cast-function-type"],
    )],
)
