"""The C core's platform layer: which waits a build carries, how INTERPCLI_WAIT picks them,
and that `interp --version` names them."""

import os
import sys
from pathlib import Path

import pytest
from helpers import interp, run_python

import interpcli
from interpcli import _lowlevel

SETUP_PY = Path(interpcli.__file__).parent.parent / "setup.py"


def _built_for() -> str:
    """The layer the build switch asks for (the suite runs with the environment it was
    built with)."""
    default = "futex" if sys.platform.startswith("linux") else "portable"
    return os.environ.get("INTERPCLI_WAIT", "").strip().lower() or default


def test_the_core_and_version_name_the_layer_the_build_switch_chose():
    layer = _lowlevel.core_module().WAIT_LAYER
    assert layer == _built_for()
    v = sys.version_info
    p = interp("--version")
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout == (
        f"interp {interpcli.__version__} (Python {v.major}.{v.minor}.{v.micro}, waits: {layer})\n"
    )


def test_interpcli_wait_picks_the_sources_and_a_bad_value_fails_the_build():
    if not SETUP_PY.exists():
        pytest.skip("not a source checkout")
    linux = sys.platform.startswith("linux")
    values = ("", "portable", " Futex ") if linux else ("", "portable")
    p = run_python(f"""
        import os, sys, setuptools
        seen = {{}}
        setuptools.setup = lambda **kw: seen.update(kw)
        sys.argv = ["setup.py", "--version"]
        for value in {values!r}:
            os.environ["INTERPCLI_WAIT"] = value
            exec(open({str(SETUP_PY)!r}).read(), {{"__name__": "__main__"}})
            ext = seen["ext_modules"][0]
            waits = [s.rsplit("/", 1)[1] for s in ext.sources if "/wait_" in s]
            print(repr(value), waits, ext.define_macros)
        os.environ["INTERPCLI_WAIT"] = "spinlock"
        exec(open({str(SETUP_PY)!r}).read(), {{"__name__": "__main__"}})
    """)
    default = "futex" if linux else "portable"
    default_macros = [] if default == "futex" else [("IC_PORTABLE", "1")]
    assert p.stdout.splitlines() == [
        f"'' ['wait_{default}.c'] {default_macros}",
        "'portable' ['wait_portable.c'] [('IC_PORTABLE', '1')]",
        *(["' Futex ' ['wait_futex.c'] []"] if linux else []),
    ], p.stderr
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "interpcli: INTERPCLI_WAIT='spinlock' is not a wait layer; use one of: futex, portable"
    ]
