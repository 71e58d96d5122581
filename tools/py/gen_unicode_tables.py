#!/usr/bin/env python3
"""Generates the Unicode category tables of llava.h's tokenizer section (in llava.h).

The byte-level pre-tokenizer patterns (GPT-2, LLaMA-3, Qwen2) need \\p{L} (letters), \\p{N} (numbers)
and \\s (whitespace); added tokens' `single_word` needs "word" characters (letters, marks, numbers,
connector punctuation). The tables are sorted, merged code point ranges from Python's unicodedata
(its Unicode version is written into the header); whitespace is the Unicode White_Space property,
which unicodedata does not expose, so it is listed here (it has not changed since Unicode 6).

The normalizers (NFC, NFD, NFKC, NFKD) need canonical combining classes, full canonical and
compatibility decompositions and the canonical composition pairs. `tokenizers` normalizes with the
unicode-normalization-alignments crate, whose tables are Unicode 9.0.0; the data of a character never
changes once assigned (Unicode's normalization stability policy), so Unicode 9.0.0's tables are
Python's restricted to the characters that existed in 9.0.0: the characters assigned in 10.0-14.0
that have normalization data are listed below (NEW_SINCE_9) and left out. The lists below were found by
comparing with the crate's tables (and, for Lowercase, with tokenizers' Lowercase over every code point).
Hangul syllables are decomposed and composed arithmetically at run time, so they are not listed.

usage: python3 tools/py/gen_unicode_tables.py [llava.h]   (default: the repository's llava.h)
Rewrites the blocks between the BEGIN/END GENERATED UNICODE TABLES and BEGIN/END GENERATED
NORMALIZATION TABLES markers in place. Needs a Python whose unicodedata is Unicode 14.0.0 (3.11)."""
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


# characters assigned after Unicode 9.0.0 (in Unicode 10.0 to 14.0) that have a nonzero combining class, a
# decomposition or a composition in Unicode 14.0.0
NEW_SINCE_9 = [(0x7FD, 0x7FD), (0x898, 0x89F), (0x8CA, 0x8D3), (0x9FE, 0x9FE), (0xC3C, 0xC3C), (0xD3B, 0xD3C), (0xEBA, 0xEBA),
               (0x1715, 0x1715), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFA), (0x32FF, 0x32FF), (0xA7F2, 0xA7F4), (0xA82C, 0xA82C),
               (0xAB69, 0xAB69), (0x10781, 0x107BA), (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x10F46, 0x10F50),
               (0x10F82, 0x10F85), (0x11070, 0x11070), (0x1133B, 0x1133B), (0x1145E, 0x1145E), (0x11839, 0x1183A),
               (0x11935, 0x11938), (0x1193D, 0x1193E), (0x11943, 0x11943), (0x119E0, 0x119E0), (0x11A34, 0x11A34),
               (0x11A47, 0x11A47), (0x11A99, 0x11A99), (0x11D42, 0x11D42), (0x11D44, 0x11D45), (0x11D97, 0x11D97),
               (0x16FF0, 0x16FF1), (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF), (0x1F16C, 0x1F16C),
               (0x1FBF0, 0x1FBF9)]
# General_Category=Mark as Unicode 9.0.0 has it (StripAccents, the crate's is_combining_mark) differs from
# Unicode 14.0.0's by these: marks assigned after 9.0.0, and U+1CF2..U+1CF3 (marks in 9.0.0, letters since)
MARK_DIFF_SINCE_9 = [(0x7FD, 0x7FD), (0x898, 0x89F), (0x8CA, 0x8D3), (0x9FE, 0x9FE), (0xAFA, 0xAFF), (0xB55, 0xB55), (0xC04, 0xC04),
                     (0xC3C, 0xC3C), (0xD00, 0xD00), (0xD3B, 0xD3C), (0xD81, 0xD81), (0xEBA, 0xEBA), (0x1715, 0x1715), (0x180F, 0x180F),
                     (0x1ABF, 0x1ACE), (0x1CF2, 0x1CF3), (0x1CF7, 0x1CF7), (0x1DF6, 0x1DFA), (0xA82C, 0xA82C), (0xA8FF, 0xA8FF),
                     (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x10F82, 0x10F85), (0x11070, 0x11070),
                     (0x11073, 0x11074), (0x110C2, 0x110C2), (0x11145, 0x11146), (0x111C9, 0x111C9), (0x111CE, 0x111CF),
                     (0x1133B, 0x1133B), (0x1145E, 0x1145E), (0x1182C, 0x1183A), (0x11930, 0x11935), (0x11937, 0x11938),
                     (0x1193B, 0x1193E), (0x11940, 0x11940), (0x11942, 0x11943), (0x119D1, 0x119D7), (0x119DA, 0x119E0),
                     (0x119E4, 0x119E4), (0x11A01, 0x11A0A), (0x11A33, 0x11A39), (0x11A3B, 0x11A3E), (0x11A47, 0x11A47),
                     (0x11A51, 0x11A5B), (0x11A8A, 0x11A99), (0x11D31, 0x11D36), (0x11D3A, 0x11D3A), (0x11D3C, 0x11D3D),
                     (0x11D3F, 0x11D45), (0x11D47, 0x11D47), (0x11D8A, 0x11D8E), (0x11D90, 0x11D91), (0x11D93, 0x11D97),
                     (0x11EF3, 0x11EF6), (0x16F4F, 0x16F4F), (0x16F7F, 0x16F87), (0x16FE4, 0x16FE4), (0x16FF0, 0x16FF1),
                     (0x1CF00, 0x1CF2D), (0x1CF30, 0x1CF46), (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF)]
NORM_UNICODE = "9.0.0"
# Lowercase is Rust's char::to_lowercase, of the Unicode of the Rust standard library that built tokenizers
# (17.0.0 for the 0.23 wheels): Python's single-character str.lower (14.0.0) plus the mappings of the
# characters assigned in 15.0-17.0, {first, last, lowercase of first}; U+0130 lowercases to two characters
LOWER_ADDED = [(0x1C89, 0x1C89, 0x1C8A), (0xA7CB, 0xA7CB, 0x264), (0xA7CC, 0xA7CC, 0xA7CD), (0xA7CE, 0xA7CE, 0xA7CF), (0xA7D2, 0xA7D2, 0xA7D3),
               (0xA7D4, 0xA7D4, 0xA7D5), (0xA7DA, 0xA7DA, 0xA7DB), (0xA7DC, 0xA7DC, 0x19B), (0x10D50, 0x10D65, 0x10D70),
               (0x16EA0, 0x16EB8, 0x16EBB)]
LOWER_UNICODE = "17.0.0"


def lower_runs():
    """{first, last, delta, stride}: c in first..last, (c - first) % stride == 0, lowercases to c + delta"""
    m = {}
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or cp == 0x130:
            continue
        lo = chr(cp).lower()
        if lo != chr(cp):
            assert len(lo) == 1, hex(cp)
            m[cp] = ord(lo)
    for a, b, t in LOWER_ADDED:
        for cp in range(a, b + 1):
            m[cp] = t + cp - a
    runs = []
    for cp in sorted(m):
        d = m[cp] - cp
        if runs and runs[-1][2] == d:
            r = runs[-1]
            if cp == r[1] + r[3]:
                r[1] = cp
                continue
            if r[0] == r[1] and cp - r[1] == 2:
                r[1], r[3] = cp, 2
                continue
        runs.append([cp, cp, d, 1])
    back = {c: c + r[2] for r in runs for c in range(r[0], r[1] + 1, r[3])}
    assert back == m
    return runs


def in9(cp):
    return not any(a <= cp <= b for a, b in NEW_SINCE_9)


def is_hangul(cp):
    return 0xAC00 <= cp < 0xAC00 + 11172


def norm_tables():
    """(ccc ranges, decomposition keys, pool checkpoints, pool, composition triples)"""
    nfd = lambda cp: [ord(x) for x in unicodedata.normalize("NFD", chr(cp))]
    nfkd = lambda cp: [ord(x) for x in unicodedata.normalize("NFKD", chr(cp))]
    ccc = []
    for cp in range(0x110000):
        k = unicodedata.combining(chr(cp)) if in9(cp) else 0
        if not k:
            continue
        if ccc and ccc[-1][1] == cp - 1 and ccc[-1][2] == k:
            ccc[-1][1] = cp
        else:
            ccc.append([cp, cp, k])
    entries, pairs = [], []  # entries: (cp, compat, full decomposition)
    for cp in range(0x80, 0x110000):
        if is_hangul(cp) or 0xD800 <= cp < 0xE000 or not in9(cp):
            continue
        d, kd = nfd(cp), nfkd(cp)
        if d != [cp]:
            entries.append((cp, 0, d))
        if kd != d:
            entries.append((cp, 1, kd))
        dec = unicodedata.decomposition(chr(cp))
        if dec and not dec.startswith("<"):
            parts = [int(x, 16) for x in dec.split()]
            if len(parts) == 2 and unicodedata.normalize("NFC", chr(cp)) == chr(cp):  # a primary composite
                pairs.append((parts[0], parts[1], cp))
    keys, at, pool = [], [], []
    for i, (cp, compat, full) in enumerate(entries):
        assert len(full) < 32
        if i % 32 == 0:
            at.append(len(pool))
        keys.append(cp << 6 | compat << 5 | len(full))
        pool += full
    assert len(pool) < 65536
    pairs.sort()
    return ccc, keys, at, pool, pairs


def numbers(name, ctype, vals, fmt, per):
    lines = ["static const %s %s[%d] = {" % (ctype, name, len(vals))]
    for i in range(0, len(vals), per):
        lines.append("    " + ",".join(fmt % v for v in vals[i:i + per]) + ",")
    lines.append("};")
    return "\n".join(lines)


def norm_block():
    ccc, keys, at, pool, pairs = norm_tables()
    return [
        "/* BEGIN GENERATED NORMALIZATION TABLES (tools/py/gen_unicode_tables.py, Unicode %s as tokenizers has it) */" % NORM_UNICODE,
        "/* canonical combining classes: {first, last, class} */",
        "static const uint32_t llava__tok_uc_ccc[%d][3] = {" % len(ccc),
        "\n".join("    " + ",".join("{0x%X,0x%X,%d}" % tuple(r) for r in ccc[i:i + 8]) + "," for i in range(0, len(ccc), 8)),
        "};",
        "/* full decompositions, sorted: code point << 6 | compatibility << 5 | length; a compatibility entry",
        "   only where it differs from the canonical one. Entry i's characters are in llava__tok_uc_dpool from",
        "   llava__tok_uc_dat[i / 32] plus the lengths of the entries before it in its group of 32. */",
        numbers("llava__tok_uc_dkey", "uint32_t", keys, "0x%X", 12),
        numbers("llava__tok_uc_dat", "uint16_t", at, "%d", 16),
        numbers("llava__tok_uc_dpool", "uint32_t", pool, "%d", 20),
        "/* canonical compositions (primary composites, composition exclusions left out): {first, second, composite} */",
        "static const uint32_t llava__tok_uc_comp[%d][3] = {" % len(pairs),
        "\n".join("    " + ",".join("{0x%X,0x%X,0x%X}" % p for p in pairs[i:i + 6]) + "," for i in range(0, len(pairs), 6)),
        "};",
        "/* Unicode 9.0.0's marks are llava__tok_uc_mark's (Unicode %s) but for these */" % unicodedata.unidata_version,
        table("llava__tok_uc_mark_diff9", MARK_DIFF_SINCE_9),
        "/* Lowercase (Rust's char::to_lowercase, Unicode %s): {first, last, delta, stride}, U+0130 apart */" % LOWER_UNICODE,
        "static const int32_t llava__tok_uc_lower[%d][4] = {" % len(lower_runs()),
        "\n".join("    " + ",".join("{0x%X,0x%X,%d,%d}" % tuple(r) for r in lower_runs()[i:i + 6]) + ","
                   for i in range(0, len(lower_runs()), 6)),
        "};",
        "/* END GENERATED NORMALIZATION TABLES */",
    ]


def replace_block(src, begin, end, block):
    a = src.index(begin)
    b = src.index(end) + len(end)
    return src[:a] + "\n".join(block) + src[b:]


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
    if unicodedata.unidata_version != "14.0.0":
        sys.exit("gen_unicode_tables.py: NEW_SINCE_9 is written for Unicode 14.0.0, this Python has %s" % unicodedata.unidata_version)
    src = open(path, encoding="utf-8").read()
    src = replace_block(src, "/* BEGIN GENERATED UNICODE TABLES", "/* END GENERATED UNICODE TABLES */", block)
    if "/* BEGIN GENERATED NORMALIZATION TABLES" not in src:  # first run: placed after the category tables
        end = "/* END GENERATED UNICODE TABLES */"
        i = src.index(end) + len(end)
        src = src[:i] + "\n/* BEGIN GENERATED NORMALIZATION TABLES */\n/* END GENERATED NORMALIZATION TABLES */" + src[i:]
    src = replace_block(src, "/* BEGIN GENERATED NORMALIZATION TABLES", "/* END GENERATED NORMALIZATION TABLES */", norm_block())
    open(path, "w", encoding="utf-8").write(src)


if __name__ == "__main__":
    main()
