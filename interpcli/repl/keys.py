"""Key bindings: Enter runs a finished input or opens the next line of a block (with
indentation, as in python's REPL); Tab indents at the start of a line and completes
elsewhere; Escape-Enter runs the input as it is."""

from __future__ import annotations

from prompt_toolkit.filters import Condition, has_focus, has_selection
from prompt_toolkit.key_binding import KeyBindings

from .commands import is_command
from .pysource import needs_more

INDENT = "    "


def _newline(buffer) -> None:
    line = buffer.document.current_line_before_cursor
    indent = line[: len(line) - len(line.lstrip())]
    if line.rstrip().endswith(":"):
        indent += INDENT
    buffer.insert_text("\n" + indent)


def _accept(buffer) -> None:
    text = buffer.text
    if "\n" in text:
        cleaned = text.rstrip()
        buffer.text = cleaned
        buffer.cursor_position = len(cleaned)
    buffer.validate_and_handle()


def should_accept(text: str, cursor_at_end: bool) -> bool:
    """What Enter does: True to run the input, False to open a new line."""
    if is_command(text) and "\n" not in text:
        return True
    if "\n" in text and not cursor_at_end:
        return False
    return not needs_more(text)


def key_bindings() -> KeyBindings:
    kb = KeyBindings()
    focused = has_focus("DEFAULT_BUFFER") & ~has_selection

    @kb.add("enter", filter=focused)
    def _(event):
        b = event.current_buffer
        if b.complete_state is not None and b.complete_state.current_completion is not None:
            b.complete_state = None  # keep the chosen completion, go on typing
            return
        doc = b.document
        at_end = not doc.text_after_cursor.strip()
        if should_accept(b.text, at_end):
            _accept(b)
        else:
            _newline(b)

    @kb.add("escape", "enter", filter=focused)
    def _(event):
        _accept(event.current_buffer)

    @Condition
    def at_line_start() -> bool:
        from prompt_toolkit.application import get_app

        before = get_app().current_buffer.document.current_line_before_cursor
        return before.strip() == ""

    @kb.add("tab", filter=focused & at_line_start)
    def _(event):
        event.current_buffer.insert_text(INDENT)

    @kb.add("s-tab", filter=focused & at_line_start)
    def _(event):
        b = event.current_buffer
        before = b.document.current_line_before_cursor
        n = min(len(INDENT), len(before))
        if n:
            b.delete_before_cursor(n)

    return kb
