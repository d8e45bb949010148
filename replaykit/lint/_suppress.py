"""``# replaykit: ignore`` comments: which lines suppress which rules."""

from __future__ import annotations

import io
import re
import tokenize

from replaykit.lint._model import RULES_BY_ID, RULES_BY_NAME

_SUPPRESS_RE = re.compile(r"#\s*replaykit:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)


def parse_suppressions(source: str) -> dict[int, frozenset[str] | None]:
    """Map line -> suppressed rule ids (None = every rule) from ``# replaykit: ignore`` comments.

    Comments are read with tokenize, so the marker inside a string literal does not count.
    """
    result: dict[int, frozenset[str] | None] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return result
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _SUPPRESS_RE.search(token.string)
        if match is None:
            continue
        line = token.start[0]
        if match.group(1) is None:
            result[line] = None
            continue
        ids: set[str] = set()
        for item in match.group(1).split(","):
            item = item.strip()
            rule = RULES_BY_ID.get(item.upper()) or RULES_BY_NAME.get(item.lower())
            if rule is not None:
                ids.add(rule.id)
        previous = result.get(line, frozenset())
        result[line] = None if previous is None else previous | ids
    return result
