"""The shell's output bridge (repl.bridge): its reader thread ends on an error that recurs
instead of spinning a core on it."""

import interpcli.channels
from interpcli.repl import bridge


class _Broken:
    """A channel whose recv() always fails (not with EOFError)."""

    def recv(self):
        raise RuntimeError("broken")

    def send_nowait(self, data):
        raise EOFError

    def close(self):
        pass


def test_the_reader_stops_on_a_recurring_error(monkeypatch):
    monkeypatch.setattr(interpcli.channels, "create_duplex", _Broken)
    b = bridge.OutputBridge()
    b._thread.join(10)
    assert not b._thread.is_alive()
