"""What an extension module file is, read from the file without loading it: mypyc-compiled,
or a Cython module that can live in one interpreter per process (see
interpcli._extensions.crash_kind, the one caller). Linux's ELF files are read by their
section table; other files only when small."""
_SHIM_MAX = 64 * 1024           # mypyc's shims are ~12-20 KB
_SECTION_MAX = 64 * 1024 * 1024
_MYPYC_SYMBOLS = (b"\0CPyInit", b"\0CPyArg_", b"\0CPyStatics", b"\0CPy_")
_CYTHON_ONE_INTERPRETER = (b"Interpreter change detected - this module can only be loaded "
                           b"into one interpreter per process.")


def classify(path: str) -> str:
    """'mypyc', 'cython' or '' for the extension module file at `path` (see
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
        sections = _elf_sections(f, head)
        dynstr = _section(f, sections, dynsym_names=True)
        if dynstr is not None and any(s in dynstr for s in _MYPYC_SYMBOLS):
            return "mypyc"
        if size <= _SHIM_MAX:
            f.seek(0)
            if b"__mypyc." in f.read():
                return "mypyc"
        rodata = _section(f, sections, name=b".rodata")
        if rodata is not None and _CYTHON_ONE_INTERPRETER in rodata:
            return "cython"
    return ""


def _elf_sections(f, head: bytes) -> list:
    """(name offset, type, file offset, size, link) of each section of a 64-bit
    little-endian ELF file, and the index of the section names' table last."""
    shoff = int.from_bytes(head[0x28:0x30], "little")
    shentsize = int.from_bytes(head[0x3A:0x3C], "little")
    shnum = int.from_bytes(head[0x3C:0x3E], "little")
    shstrndx = int.from_bytes(head[0x3E:0x40], "little")
    if not shoff or shentsize < 64 or not 0 < shnum < 4096:
        return []
    f.seek(shoff)
    table = f.read(shentsize * shnum)
    if len(table) < shentsize * shnum:
        return []
    out = []
    for i in range(shnum):
        s = table[i * shentsize:(i + 1) * shentsize]
        out.append((int.from_bytes(s[0:4], "little"), int.from_bytes(s[4:8], "little"),
                    int.from_bytes(s[24:32], "little"), int.from_bytes(s[32:40], "little"),
                    int.from_bytes(s[40:44], "little")))
    out.append(shstrndx)
    return out


def _read(f, off: int, size: int) -> bytes | None:
    if size > _SECTION_MAX:
        return None
    f.seek(off)
    return f.read(size)


def _section(f, sections: list, *, dynsym_names: bool = False,
             name: bytes = b"") -> bytes | None:
    """The contents of the dynamic symbols' string table, or of the section `name`."""
    if not sections:
        return None
    shstrndx, table = sections[-1], sections[:-1]
    if dynsym_names:
        for _name, kind, _off, _size, link in table:
            if kind == 11 and link < len(table):    # SHT_DYNSYM: names in section `link`
                return _read(f, table[link][2], table[link][3])
        return None
    if shstrndx >= len(table):
        return None
    names = _read(f, table[shstrndx][2], table[shstrndx][3])
    if names is None:
        return None
    for name_off, _kind, off, size, _link in table:
        if names[name_off:name_off + len(name) + 1] == name + b"\0":
            return _read(f, off, size)
    return None
