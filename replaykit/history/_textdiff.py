"""Diffs of long strings that show what changed, wherever in the string it is.

Two 4 KB system prompts that differ in one sentence halfway through look identical when both
are cut at the same prefix. Here a long one-line text is diffed word by word (git's
``--word-diff`` notation: ``[-removed-]{+added+}``) with a few words of context either side
and ``…`` for what is elided; a multi-line text is diffed line by line (changed lines with
``-``/``+``, one line of context, long changed lines word-diffed in turn).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

__all__ = ["is_long_text", "text_diff"]

#: Strings longer than this (or with a line break) get a word or line diff.
LONG = 80
_WORDS_AROUND = 6
_MAX_HUNKS = 8
_MAX_LINE = 160
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def is_long_text(a: object, b: object) -> bool:
    """Whether two values are strings worth a word/line diff rather than ``a -> b``."""
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    return max(len(a), len(b)) > LONG or "\n" in a or "\n" in b


def text_diff(a: str, b: str) -> str:
    """A readable diff of two strings (one line per hunk for prose, diff lines for text).

    Args:
        a: The recorded text.
        b: The current text.

    Returns:
        The first line says what changed (``text changed (3966 -> 3980 chars)``); the
        following lines show each change with a little context, elided with ``…``.
    """
    head = f"text changed ({len(a)} -> {len(b)} chars)"
    if "\n" in a.strip("\n") or "\n" in b.strip("\n"):
        return head + ", by line:\n" + _line_diff(a, b)
    return head + ":\n" + _word_diff(a, b)


def _word_diff(a: str, b: str) -> str:
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    opcodes = matcher.get_opcodes()
    changes = [i for i, op in enumerate(opcodes) if op[0] != "equal"]
    if not changes:
        return "  (no visible change: the texts differ in encoding only)"
    out: list[str] = []
    hunk: list[str] = []
    for n, i in enumerate(changes[:_MAX_HUNKS]):
        tag, i1, i2, j1, j2 = opcodes[i]
        before = _context(ta, opcodes, i, before=True)
        if not hunk:
            hunk.append(before)
        removed, added = "".join(ta[i1:i2]), "".join(tb[j1:j2])
        if tag in ("replace", "delete"):
            hunk.append(f"[-{_squash(removed)}-]")
        if tag in ("replace", "insert"):
            hunk.append(f"{{+{_squash(added)}+}}")
        nxt = changes[n + 1] if n + 1 < len(changes) else None
        gap = opcodes[i + 1] if i + 1 < len(opcodes) and opcodes[i + 1][0] == "equal" else None
        if (
            nxt is not None
            and nxt == i + 2
            and gap is not None
            and _words(ta[gap[1] : gap[2]]) <= 2 * _WORDS_AROUND
        ):
            hunk.append("".join(ta[gap[1] : gap[2]]))  # close changes share one hunk
            continue
        hunk.append(_context(ta, opcodes, i, before=False))
        out.append("  " + "".join(hunk))
        hunk = []
    if hunk:
        out.append("  " + "".join(hunk))
    if len(changes) > _MAX_HUNKS:
        out.append(f"  … and {len(changes) - _MAX_HUNKS} more changes")
    return "\n".join(out)


def _words(tokens: list[str]) -> int:
    return sum(1 for t in tokens if not t.isspace())


def _context(
    tokens: list[str], opcodes: Sequence[tuple[str, int, int, int, int]], i: int, *, before: bool
) -> str:
    """The few words of unchanged text before (or after) change ``i``, elided with ``…``."""
    j = i - 1 if before else i + 1
    if j < 0 or j >= len(opcodes) or opcodes[j][0] != "equal":
        return ""
    _, i1, i2, _, _ = opcodes[j]
    span = tokens[i1:i2]
    kept: list[str] = []
    words = 0
    seq = reversed(span) if before else iter(span)
    for t in seq:
        if not t.isspace():
            words += 1
            if words > _WORDS_AROUND:
                break
        kept.append(t)
    if before:
        kept.reverse()
    text = "".join(kept)
    elided = len(kept) < len(span)
    if before:
        return ("…" if elided else "") + text
    return text + ("…" if elided else "")


def _squash(text: str) -> str:
    """A changed run of words, shortened in its middle when it is very long."""
    text = text.replace("\n", "⏎")
    if len(text) <= _MAX_LINE:
        return text
    return text[: _MAX_LINE // 2] + " … " + text[-_MAX_LINE // 2 :]


def _line_diff(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(None, la, lb, autojunk=False)
    out: list[str] = []
    groups = list(matcher.get_grouped_opcodes(1))
    for g, group in enumerate(groups[:_MAX_HUNKS]):
        first = group[0]
        if g or first[1] > 0:
            out.append(f"  @@ line {first[1] + 1} @@")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(f"    {_clip_line(line)}" for line in la[i1:i2])
                continue
            old, new = la[i1:i2], lb[j1:j2]
            if tag == "replace" and len(old) == len(new):
                for x, y in zip(old, new, strict=True):
                    if max(len(x), len(y)) > _MAX_LINE:
                        out.extend("  ~ " + h.strip() for h in _word_diff(x, y).splitlines())
                    else:
                        out.append(f"  - {x}")
                        out.append(f"  + {y}")
                continue
            out.extend(f"  - {_clip_line(line)}" for line in old)
            out.extend(f"  + {_clip_line(line)}" for line in new)
    if len(groups) > _MAX_HUNKS:
        out.append(f"  … and {len(groups) - _MAX_HUNKS} more changed places")
    return "\n".join(out)


def _clip_line(line: str) -> str:
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"
