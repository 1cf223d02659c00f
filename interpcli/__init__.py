"""interpcli: run Python across CPython subinterpreters, connected by channels.

    import interpcli
    interp = interpcli.create()
    recv, send = interpcli.create_channel()
    result = interp.run("channels.out.send(b'hi')", channels={"out": send})

Importing this package loads nothing heavy; the C core loads on first use."""

__version__ = "0.2.0"  # the one source of the version (pyproject.toml reads it)

_EXPORTS = {
    "create": "interpreter",
    "list_all": "interpreter",
    "get_main": "interpreter",
    "get_current": "interpreter",
    "get": "interpreter",
    "Interpreter": "interpreter",
    "Canceller": "interpreter",
    "create_channel": "channels",
    "RecvChannel": "channels",
    "SendChannel": "channels",
    "Channel": "channels",
    "RunResult": "results",
    "InterpreterRef": "results",
    "InterpError": "errors",
    "ChannelError": "errors",
    "ChannelClosedError": "errors",
    "ChannelEmptyError": "errors",
    "ChannelTimeoutError": "errors",
    "InterpreterError": "errors",
    "InterpreterNotFoundError": "errors",
    "InterpreterBusyError": "errors",
    "RunFailedError": "errors",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 (a list)


_SUBMODULES = {"channels", "errors", "results", "interpreter", "interpreters"}


def __getattr__(name):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'interpcli' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
