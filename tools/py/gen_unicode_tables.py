#!/usr/bin/env python3
"""Generates the Unicode category tables of llava.h's tokenizer section (in llava.h).

The byte-level pre-tokenizer patterns (GPT-2, LLaMA-3, Qwen2) need \\p{L} (letters), \\p{N} (numbers)
and \\s (whitespace); added tokens' `single_word` needs "word" characters (letters, marks, numbers,
connector punctuation). The tables are sorted, merged code point ranges from Python's unicodedata
(its Unicode version is written into the header); whitespace is the Unicode White_Space property,
which unicodedata does not expose, so it is listed here (it has not changed since Unicode 6).

usage: python3 tools/py/gen_unicode_tables.py [llava.h]   (default: the repository's llava.h)
Rewrites the block between the BEGIN/END GENERATED UNICODE TABLES markers in place."""
import os
import sys
import unicodedata

WHITE_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
               (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]


def ranges(pred):
    out, start = [], None
    for cp in range(0x110000):
        ok = pred(cp)
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, 0x10FFFF))
    return out


def cat(cp):
    return unicodedata.category(chr(cp))


def table(name, rs):
    lines = ["static const uint32_t %s[%d][2] = {" % (name, len(rs))]
    row = []
    for a, b in rs:
        row.append("{0x%X,0x%X}" % (a, b))
        if len(row) == 8:
            lines.append("    " + ",".join(row) + ",")
            row = []
    if row:
        lines.append("    " + ",".join(row) + ",")
    lines.append("};")
    return "\n".join(lines)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "llava.h")
    block = [
        "/* BEGIN GENERATED UNICODE TABLES (tools/py/gen_unicode_tables.py, Unicode %s) */" % unicodedata.unidata_version,
        "/* \\p{L}: Lu Ll Lt Lm Lo */",
        table("llava__tok_uc_letter", ranges(lambda c: cat(c)[0] == "L")),
        "/* \\p{N}: Nd Nl No */",
        table("llava__tok_uc_number", ranges(lambda c: cat(c)[0] == "N")),
        "/* \\p{M}: Mn Mc Me (for word characters) */",
        table("llava__tok_uc_mark", ranges(lambda c: cat(c)[0] == "M")),
        "/* White_Space */",
        table("llava__tok_uc_space", WHITE_SPACE),
        "/* END GENERATED UNICODE TABLES */",
    ]
    src = open(path, encoding="utf-8").read()
    a = src.index("/* BEGIN GENERATED UNICODE TABLES")
    b = src.index("/* END GENERATED UNICODE TABLES */") + len("/* END GENERATED UNICODE TABLES */")
    open(path, "w", encoding="utf-8").write(src[:a] + "\n".join(block) + src[b:])


if __name__ == "__main__":
    main()
