"""Every name a public replaykit package exports is rendered in the built API reference.

mkdocstrings reads the packages statically; a name it cannot resolve (a lazy export it does not
follow, a filter that hides it) would silently drop out of ``site/reference/api/``. This walks
each public package's ``__all__`` and looks for the name's anchor (``replaykit.check.CheckOptions``)
on the package's page. ``make docs`` runs it after ``mkdocs build --strict``.

Exit 0 when every name is there, 1 naming what is missing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def public_packages() -> list[str]:
    import replaykit

    return sorted(
        m.name
        for m in pkgutil.iter_modules(replaykit.__path__)
        if not m.name.startswith("_") and m.name != "cli"
    )


def missing(site: Path) -> list[str]:
    problems: list[str] = []
    for name in public_packages():
        page = site / "reference" / "api" / name / "index.html"
        if not page.is_file():
            problems.append(f"replaykit.{name}: no page ({page.relative_to(site)})")
            continue
        anchors = set(re.findall(r'id="([^"]+)"', page.read_text(encoding="utf-8")))
        module = importlib.import_module(f"replaykit.{name}")
        problems += [
            f"replaykit.{name}.{export} is not rendered"
            for export in module.__all__
            if f"replaykit.{name}.{export}" not in anchors
        ]
    return problems


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else ROOT / "site"
    problems = missing(site)
    if problems:
        print(f"The API reference ({site}) is missing:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"API reference: every export of {len(public_packages())} public packages rendered")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
