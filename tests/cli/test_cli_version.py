"""One version, told everywhere: interpcli.__version__ (its one source) is what the installed
package's metadata, `interp --version`, the man page and CHANGELOG.md's first release say."""

from __future__ import annotations

import importlib.metadata
import os
import re

from helpers import interp

import interpcli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_version_is_told_the_same_everywhere():
    version = interpcli.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    # the metadata of what is installed (a wheel's, or an editable install's: reinstall after
    # changing the version)
    assert importlib.metadata.version("interpcli") == version
    p = interp("--version")
    assert p.returncode == 0 and p.stdout.split()[:2] == ["interp", version], p.stdout
    with open(os.path.join(ROOT, "man", "interp.1"), encoding="utf-8") as f:
        th = next(line for line in f if line.startswith(".TH "))
    assert f'"interpcli {version}"' in th, th
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        releases = re.findall(r"^## (\S+)", f.read(), re.M)
    assert releases[:1] == [version], releases
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        project = f.read()
    # the number is written in interpcli/__init__.py only; pyproject.toml reads it
    assert 'dynamic = ["version"]' in project and version not in project
