"""cli.environment: the program name, streams and colour of one `interp` command, made
by cli.main() and read by what writes to the user."""

import io

from interpcli.cli import environment, report
from interpcli.cli.environment import Environment


def test_report_writes_through_the_current_environment(monkeypatch):
    err = io.StringIO()
    previous = environment.use(Environment("myprog", stderr=err, colors=False))
    try:
        report.error("something\n  failed")
        assert err.getvalue() == "myprog: something failed\n"
        assert not report.wants_table("auto")  # a StringIO is no terminal
        assert not environment.current().colors
    finally:
        environment.use(previous)


def test_streams_not_given_are_sys_streams_when_asked(monkeypatch):
    env = Environment()
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert env.stdout is out and env.program_name == "interp"
    monkeypatch.setenv("NO_COLOR", "1")
    assert not env.colors
    monkeypatch.setenv("NO_COLOR", "")
    assert env.colors


def test_main_makes_the_environment_with_its_program_name(monkeypatch, capsys):
    """The program name given to main() prefixes interp's own one-line errors."""
    import pytest

    import interpcli.cli as entry

    previous = environment.current()
    try:
        with pytest.raises(SystemExit) as exc:
            entry.main(
                ["run", "--timeout", "1", "-c", "raise SystemExit(0)", "--stdin", "nochannel"],
                prog_name="other",
            )
        assert exc.value.code == 2
        assert environment.current().program_name == "other"
        assert "other run: --stdin nochannel: unknown channel" in capsys.readouterr().err
    finally:
        environment.use(previous)
