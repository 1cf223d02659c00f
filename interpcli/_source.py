"""Python source files decoded as python decodes them (PEP 263), for `interp run` and the
shell's `%run` alike."""

def decode_source(data: bytes) -> str:
    """Decode a script as python does: UTF-8 unless a coding cookie (PEP 263) says else.

    The text is compiled from UTF-8, so a cookie naming another encoding is neutralized
    in the text handed over (tracebacks still show the file's own lines)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import io
    import re
    import tokenize
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        # not decodable: the interpreter reports the SyntaxError, as python would
        return data.decode("utf-8", "surrogateescape")
    lines = text.split("\n", 2)
    cookie = re.compile(r"^([ \t\f]*#.*?)coding([:=])")
    for i in range(min(2, len(lines))):
        if cookie.match(lines[i]):
            lines[i] = cookie.sub(r"\1(was: coding)\2", lines[i], count=1)
            break
    return "\n".join(lines)
