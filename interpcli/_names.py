"""The one naming rule for interpreters that interpcli names itself: a base name, and when
it is taken the base numbered `base-2`, `base-3`... (automatic names are `interp-1`,
`interp-2`...); a name made here is at most MAX_BYTES bytes of UTF-8."""

MAX_BYTES = 100  # the core takes up to 200 (IC_NAME_MAX); names made here stay shorter


def fit(name: str, suffix: str = "") -> str:
    """name cut so that name + suffix is at most MAX_BYTES bytes of UTF-8 (never mid-
    character)."""
    room = MAX_BYTES - len(suffix.encode())
    return name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")


def numbered(base: str, n: int) -> str:
    """`base-n`, base cut to fit."""
    suffix = f"-{n}"
    return fit(base, suffix) + suffix


def free(base: str, taken) -> str:
    """base (cut to fit) if it is not in taken, else the first of base-2, base-3, ... that
    is not."""
    name = fit(base)
    n = 1
    while name in taken:
        n += 1
        name = numbered(base, n)
    return name
