"""MkDocs hooks of the docs build (``hooks:`` in mkdocs.yml; not a page).

replaykit's docstrings are Google style with Sphinx cross-reference roles in them
(:class:`FaultPlan`, :mod:`replaykit.strategies`). mkdocstrings leaves a role as text
followed by the code span; this turns the pair into the code span, linked through
mkdocs-autorefs when the name is fully qualified and rendered on some page (``optional``:
a private module or an unqualified name stays plain code, without a warning).
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:mod|class|func|meth|attr|data|exc|obj):<code>([^<]+)</code>")


def _link(match: re.Match[str]) -> str:
    name = match.group(1)
    code = f"<code>{name}</code>"
    target = name.lstrip("~.").rstrip("()")
    if "." not in target:
        return code
    return f'<autoref identifier="{target}" optional>{code}</autoref>'


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_link, html)
