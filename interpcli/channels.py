"""Channels between interpreters: create_channel() and the end types.

Ends are the core module's own types, so the same objects work in every interpreter.
Only bytes-like objects cross; `send` waits until a receiver has taken the message,
`send_nowait` queues a copy, `send_buffer` lends memory (the receiver gets a read-only
memoryview, no copy). Closed channels raise ChannelClosedError (an EOFError)."""
import keyword

from ._lowlevel import core_module

_core = core_module()

RecvChannel = _core.RecvChannel
SendChannel = _core.SendChannel
Channel = _core.Channel
END_TYPES = (RecvChannel, SendChannel, Channel)


def create_channel():
    """Return (recv, send): the two ends of a new channel (PEP 554 order)."""
    return _core.create_channel()


def create_duplex() -> "Channel":
    """Return one object with both ends of a new channel (`send` and `recv` methods)."""
    recv, _send = _core.create_channel()
    return _core._end(recv.id, _core.MODE_BOTH)


def is_channel_name(name) -> bool:
    """A name a channel can have: a Python identifier that is not a keyword (it becomes
    the attribute `channels.NAME` inside an interpreter, or a shell variable)."""
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def _is_mapping(obj) -> bool:
    from collections.abc import Mapping     # not at import: `interp run` never needs it
    return isinstance(obj, Mapping)


def normalize_channels(channels) -> dict:
    """Turn a mapping or namespace of name -> channel end into a checked dict."""
    if channels is None:
        return {}
    if not isinstance(channels, dict) and not _is_mapping(channels):
        try:
            channels = vars(channels)
        except TypeError:
            raise TypeError("channels must be a mapping or a namespace of name -> channel end, "
                            f"not {type(channels).__name__!r}") from None
    out = {}
    for name, end in channels.items():
        if not is_channel_name(name):
            raise ValueError(f"channel name {name!r} is not a Python identifier")
        if not isinstance(end, END_TYPES):
            raise TypeError(f"channel {name!r} must be a channel end (RecvChannel, SendChannel "
                            f"or Channel), not {type(end).__name__!r}")
        out[name] = end
    return out


def binding_source(channels: dict) -> str:
    """Python source that binds `channels` in an interpreter's __main__."""
    items = ", ".join(f"{name}=_c._end({end.id}, {end._mode})" for name, end in channels.items())
    return ("import _interpcli as _c, types as _t\n"
            f"channels = _t.SimpleNamespace({items})\n"
            "del _c, _t\n")
