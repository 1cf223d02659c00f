"""Whether an extension module file is mypyc-compiled, read from the file without loading
it (see interpcli._extensions.crash_kind, the one caller). Linux's ELF files are read by
their section table and dynamic string table; other files only when small."""

_SHIM_MAX = 64 * 1024  # mypyc's shims are ~12-20 KB
_SECTION_MAX = 64 * 1024 * 1024
_MYPYC_SYMBOLS = (b"\0CPyInit", b"\0CPyArg_", b"\0CPyStatics", b"\0CPy_")


def classify(path: str) -> str:
    """'mypyc' or '' for the extension module file at `path` (see
    interpcli._extensions.crash_kind)."""
    if "__mypyc" in path.rsplit("/", 1)[-1]:
        return "mypyc"
    if not path or path == "built-in":
        return ""
    with open(path, "rb") as f:
        head = f.read(64)
        size = f.seek(0, 2)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            # not 64-bit little-endian ELF: only a small file is read whole
            if size > _SHIM_MAX:
                return ""
            f.seek(0)
            return "mypyc" if b"__mypyc." in f.read() else ""
        dynstr = _dynamic_names(f, _elf_sections(f, head))
        if dynstr is not None and any(s in dynstr for s in _MYPYC_SYMBOLS):
            return "mypyc"
        if size <= _SHIM_MAX:
            f.seek(0)
            if b"__mypyc." in f.read():
                return "mypyc"
    return ""


def _elf_sections(f, head: bytes) -> list:
    """(type, file offset, size, link) of each section of a 64-bit little-endian ELF
    file ([] when its section table cannot be read)."""
    shoff = int.from_bytes(head[0x28:0x30], "little")
    shentsize = int.from_bytes(head[0x3A:0x3C], "little")
    shnum = int.from_bytes(head[0x3C:0x3E], "little")
    if not shoff or shentsize < 64 or not 0 < shnum < 4096:
        return []
    f.seek(shoff)
    table = f.read(shentsize * shnum)
    if len(table) < shentsize * shnum:
        return []
    out = []
    for i in range(shnum):
        s = table[i * shentsize : (i + 1) * shentsize]
        out.append(
            (
                int.from_bytes(s[4:8], "little"),
                int.from_bytes(s[24:32], "little"),
                int.from_bytes(s[32:40], "little"),
                int.from_bytes(s[40:44], "little"),
            )
        )
    return out


def _dynamic_names(f, sections: list) -> bytes | None:
    """The string table of the dynamic symbols (their names)."""
    for kind, _off, _size, link in sections:
        if kind == 11 and link < len(sections):  # SHT_DYNSYM: names in section `link`
            _kind, off, size, _link = sections[link]
            if size > _SECTION_MAX:
                return None
            f.seek(off)
            return f.read(size)
    return None
