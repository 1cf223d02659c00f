"""Channels between interpreters: create_channel() and the end types.

Ends are the core module's own types, so the same objects work in every interpreter.
Only bytes-like objects cross; `send` waits until a receiver has taken the message,
`send_nowait` queues a copy, `send_buffer` lends memory (the receiver gets a read-only
memoryview, no copy). Closed channels raise ChannelClosedError (an EOFError)."""

import keyword

from . import _lowlevel

RecvChannel = _lowlevel.RecvChannel
SendChannel = _lowlevel.SendChannel
Channel = _lowlevel.Channel
END_TYPES = _lowlevel.END_TYPES


def create_channel():
    """Return (recv, send): the two ends of a new channel (PEP 554 order)."""
    return _lowlevel.create_channel()


def create_duplex() -> "Channel":
    """Return one object with both ends of a new channel (`send` and `recv` methods)."""
    recv, _send = _lowlevel.create_channel()
    return _lowlevel.end(recv.id, _lowlevel.BOTH)


def channel_name_problem(name) -> "str | None":
    """Why name cannot name a channel (one line), or None when it can. A channel name
    becomes the attribute `channels.NAME` inside an interpreter (and a variable in the
    shell), so it must be a Python identifier that can be bound: not a keyword, not a
    `__dunder__` name (Python's own: `__debug__` cannot be assigned at all)."""
    if not isinstance(name, str):
        return f"{name!r} is not a Python identifier (not a str)"
    if not name.isidentifier():
        return f"{name!r} is not a Python identifier"
    bound = python_name(name)
    if keyword.iskeyword(bound):
        return f"{name!r} is a Python keyword, not a usable identifier"
    if len(bound) > 4 and bound.startswith("__") and bound.endswith("__"):
        return f"{name!r} is a __dunder__ identifier, reserved to Python"
    return None


def python_name(name: str) -> str:
    """The identifier as Python binds it: NFKC-normalized, as the parser does (so `ﬁ`
    in source is `fi`)."""
    if name.isascii():
        return name
    import unicodedata

    return unicodedata.normalize("NFKC", name)


def is_channel_name(name) -> bool:
    """A name a channel can have (see channel_name_problem)."""
    return channel_name_problem(name) is None


def _is_mapping(obj) -> bool:
    from collections.abc import Mapping  # not at import: `interp run` never needs it

    return isinstance(obj, Mapping)


def normalize_channels(channels) -> dict:
    """Turn a mapping or namespace of name -> channel end into a checked dict."""
    if channels is None:
        return {}
    if not isinstance(channels, dict) and not _is_mapping(channels):
        try:
            channels = vars(channels)
        except TypeError:
            raise TypeError(
                "channels must be a mapping or a namespace of name -> channel end, "
                f"not {type(channels).__name__!r}"
            ) from None
    out = {}
    spelled: dict[str, str] = {}
    for name, end in channels.items():
        problem = channel_name_problem(name)
        if problem is not None:
            raise ValueError(f"channel name {problem}")
        bound = python_name(name)
        if bound in spelled:
            raise ValueError(
                f"channel names {spelled[bound]!r} and {name!r} are the same "
                f"name to Python ({bound!r})"
            )
        spelled[bound] = name
        name = bound
        if not isinstance(end, END_TYPES):
            raise TypeError(
                f"channel {name!r} must be a channel end (RecvChannel, SendChannel "
                f"or Channel), not {type(end).__name__!r}"
            )
        out[name] = end
    return out


def binding_source(channels: dict) -> str:
    """The line that binds `channels` in an interpreter's __main__ (by
    interpcli._channels_sub)."""
    items = ", ".join(f"{name}=({end.id}, {end._mode})" for name, end in channels.items())
    return (
        f"channels = __import__('interpcli._channels_sub', None, None, ['_']).namespace({items})\n"
    )
