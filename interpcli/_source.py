"""Python source files decoded as python decodes them (PEP 263), for `interp run` and the
shell's `%run` alike: UTF-8 unless a BOM or a coding cookie in the first two lines says
else (tokenize.detect_encoding's rules, read as python's own file reader reads them: a
cookie line need not be UTF-8), and the SyntaxError `python FILE` reports for a file it
cannot decode."""

import sys

_PEP263 = "see https://peps.python.org/pep-0263/ for details"


def decode_source(data: bytes) -> str:
    """Decode a script as python does (decode_script); text python would refuse comes back
    decoded as UTF-8 with surrogate escapes, for the interpreter to report."""
    text, error = decode_script(data, "<string>")
    return data.decode("utf-8", "surrogateescape") if error is not None else text


def decode_script(data: bytes, filename: str):
    """(text, None), or (None, the SyntaxError python raises running the file filename).

    The text is compiled from UTF-8 with any cookie ignored, so a cookie naming another
    encoding is neutralized in it (tracebacks still show the file's own lines)."""
    if not _may_declare(data):
        try:
            return data.decode("utf-8"), None  # the usual case: no BOM, no cookie
        except UnicodeDecodeError:
            pass
    cookie = _cookie(data)
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        if bom and cookie not in (None, "utf-8"):
            raise SyntaxError("a BOM and another encoding's cookie")
        import codecs

        encoding = cookie or "utf-8"
        if not codecs.lookup(encoding)._is_text_encoding:
            raise LookupError(f"{encoding!r} is not a text encoding")
        text = (data[3:] if bom else data).decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        return None, _python_error(data, filename, cookie, exc)
    if cookie is not None:
        text = _neutralize_cookie(text)
    return text, None


def _may_declare(data: bytes) -> bool:
    """A BOM, or `coding` in the first two lines (the only places a cookie counts)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return True
    end = data.find(b"\n")
    if end >= 0:
        end = data.find(b"\n", end + 1)
    return b"coding" in (data if end < 0 else data[:end])


def _cookie(data: bytes):
    """The encoding a coding cookie names, normalized as python does, or None."""
    return _find_cookie(data)[0]


def _find_cookie(data: bytes):
    """(the cookie's normalized encoding, the offset after its line), or (None, 0)."""
    import re

    cookie_re = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
    blank_re = re.compile(rb"^[ \t\f]*(?:[#\r\n]|$)")
    lines = data.split(b"\n", 2)
    end = 0
    for line in lines[:2]:
        end += len(line) + 1
        m = cookie_re.match(line.removeprefix(b"\xef\xbb\xbf"))
        if m:
            return _normal_name(m.group(1).decode("latin-1")), min(end, len(data))
        if not blank_re.match(line.removeprefix(b"\xef\xbb\xbf")):
            break
    return None, 0


def _normal_name(name: str) -> str:
    """The C tokenizer's (and tokenize's) normalization of a cookie's encoding name."""
    enc = name[:12].lower().replace("_", "-")
    if enc == "utf-8" or enc.startswith("utf-8-"):
        return "utf-8"
    if enc in ("latin-1", "iso-8859-1", "iso-latin-1") or enc.startswith(
        ("latin-1-", "iso-8859-1-", "iso-latin-1-")
    ):
        return "iso-8859-1"
    return name


def _python_error(data: bytes, filename: str, cookie, exc) -> SyntaxError:
    """The SyntaxError `python FILE` reports for a file it cannot decode. Up to 3.13 its
    file reader words these errors itself; from 3.14 it reports the codec's error, or
    what compile() says of the bytes."""
    bom = data.startswith(b"\xef\xbb\xbf")
    if sys.version_info < (3, 14):
        if cookie is not None and cookie != "utf-8":
            if bom:
                return SyntaxError(f"encoding problem: {cookie} with BOM")
            return SyntaxError(f"encoding problem: {cookie}")
        if cookie is None and not bom:
            bad = _first_bad_utf8(data)
            if bad is not None:
                line = data.count(b"\n", 0, bad) + 1
                return SyntaxError(
                    f"Non-UTF-8 code starting with '\\x{data[bad]:02x}' in "
                    f"file {filename} on line {line}, but no encoding "
                    f"declared; {_PEP263}"
                )
    elif (cookie == "utf-8" or bom) and isinstance(exc, UnicodeDecodeError):
        # python 3.14+ decodes declared UTF-8 line by line: the line's error, no caret
        body = data[3:] if bom else data
        start = body.rfind(b"\n", 0, exc.start) + 1
        end = body.find(b"\n", exc.start)
        line = body[start:] if end < 0 else body[start : end + 1]
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            exc = error
        return SyntaxError(
            f"(unicode error) {exc}",
            (filename, body.count(b"\n", 0, start) + 1, 0, line.decode("utf-8", "replace")),
        )
    elif cookie is not None and cookie != "utf-8" and not bom:
        # python 3.14+ decodes what follows the cookie's line (from its newline) and
        # reports the codec's error, at line 0
        if isinstance(exc, UnicodeDecodeError):
            try:
                data[_find_cookie(data)[1] - 1 :].decode(cookie)
            except UnicodeDecodeError as error:
                exc = error
        return SyntaxError(str(exc), (filename, 0, -1, None))
    try:
        compile(data, filename, "exec", dont_inherit=True)
    except SyntaxError as error:  # some name the file "<string>": python names it
        msg = error.msg
        if msg.startswith("Non-UTF-8 code") and " in file " not in msg:
            msg = msg.replace("' on line ", f"' in file {filename} on line ", 1)
        return SyntaxError(
            msg,
            (filename, error.lineno, error.offset, error.text, error.end_lineno, error.end_offset),
        )
    except (ValueError, LookupError) as error:
        return SyntaxError(str(error))
    return SyntaxError(str(exc))


def _first_bad_utf8(data: bytes):
    """The offset of the first byte that is not valid UTF-8, or None."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _neutralize_cookie(text: str) -> str:
    import re

    lines = text.split("\n", 2)
    cookie = re.compile(r"^([ \t\f]*#.*?)coding([:=])")
    for i in range(min(2, len(lines))):
        if cookie.match(lines[i]):
            lines[i] = cookie.sub(r"\1(was: coding)\2", lines[i], count=1)
            break
    return "\n".join(lines)
