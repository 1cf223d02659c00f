"""Tab completion, as a unit: a stand-in shell with known interpreters and channels."""

import types

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from interpcli.repl.completer import ShellCompleter


@pytest.fixture
def completer():
    shell = types.SimpleNamespace(
        entries={
            "repl": types.SimpleNamespace(names={"total", "tally"}),
            "worker": types.SimpleNamespace(names=set()),
            "writer": types.SimpleNamespace(names=set()),
        },
        channels={"jobs": object(), "junk": object()},
        current="repl",
    )
    return ShellCompleter(shell)


def complete(completer, text):
    doc = Document(text, len(text))
    event = CompleteEvent(completion_requested=True)
    return [c.text for c in completer.get_completions(doc, event)]


def test_command_names(completer):
    assert complete(completer, "%sp") == ["%spawn"]
    assert complete(completer, "%s") == ["%spawn", "%send", "%stop"]
    assert len(complete(completer, "%")) == 16  # 14 commands and 2 aliases
    assert complete(completer, "%q") == ["%quit"]


def test_command_names_replace_the_prefix_too(completer):
    doc = Document("%sp", 3)
    (c,) = completer.get_completions(doc, CompleteEvent())
    assert c.start_position == -3
    assert c.display_meta_text == "create an interpreter and switch to it"


def test_interpreter_names(completer):
    assert complete(completer, "%use ") == ["repl", "worker", "writer"]
    assert complete(completer, "%use w") == ["worker", "writer"]
    assert complete(completer, "%close wo") == ["worker"]
    assert complete(completer, "%bg wr") == ["writer"]
    assert complete(completer, "%run r") == ["repl"]
    assert complete(completer, "%use repl ") == []


def test_channel_names(completer):
    assert complete(completer, "%send j") == ["jobs", "junk"]
    assert complete(completer, "%recv jo") == ["jobs"]


def test_options_and_help_topics(completer):
    assert complete(completer, "%spawn w --") == ["--shared-gil"]
    assert complete(completer, "%recv jobs --t") == ["--timeout"]
    assert complete(completer, "%help cl") == ["close"]


def test_file_paths(completer, tmp_path, monkeypatch):
    (tmp_path / "consumer.py").write_text("")
    (tmp_path / "data.txt").write_text("")
    (tmp_path / "lib").mkdir()
    monkeypatch.chdir(tmp_path)
    assert sorted(complete(completer, "%run repl ")) == ["consumer.py", "data.txt", "lib"]
    assert complete(completer, "%run repl co") == ["nsumer.py"]
    # %bg completes files (Python files and folders) once the word looks like a path
    assert sorted(complete(completer, "%bg repl ./")) == ["consumer.py", "lib"]
    assert complete(completer, "%bg repl print(") == []


def test_python_names(completer):
    assert complete(completer, "to") == ["total"]
    assert complete(completer, "ta") == ["tally"]
    assert "jobs" in complete(completer, "j") and "junk" in complete(completer, "j")
    assert "print" in complete(completer, "pri")
    assert "lambda" in complete(completer, "x = lamb")
    assert complete(completer, "") == [] and complete(completer, "x = ") == []


def test_channel_methods(completer):
    assert complete(completer, "jobs.se") == [
        "send",
        "send_async",
        "send_buffer",
        "send_buffer_nowait",
        "send_nowait",
    ]
    assert complete(completer, "jobs.recv") == ["recv_async", "recv_nowait"]
    assert complete(completer, "other.se") == []
    assert complete(completer, "a.jobs.se") == []


def test_no_completion_inside_strings_or_numbers(completer):
    assert complete(completer, "'to") == []
    assert complete(completer, "1e") == []
