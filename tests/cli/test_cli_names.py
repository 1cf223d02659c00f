"""The one naming rule of interpreters interpcli names (interpcli._names): base, then
base-2, base-3...; at most 100 bytes, the number included. The CLI's programs and the
shell's interpreters follow it alike."""

import interpcli


def test_a_long_program_name_numbered_stays_within_the_limit():
    from interpcli.cli import quickargs

    stem = "é" * 50  # 100 bytes of UTF-8
    names = quickargs.parse(["pipe", f"a/{stem}.py", f"b/{stem}.py"]).names()
    assert names == [stem, "é" * 49 + "-2"]
    assert all(len(n.encode()) <= 100 for n in names)


def test_the_shell_numbers_a_taken_name_as_the_cli_does():
    from interpcli.repl.shell import _free_name

    w = interpcli.create("w")
    try:
        assert _free_name("w") == "w-2"
        assert _free_name("free") == "free"
    finally:
        w.close()
