"""Every command, subcommand and option flag of ``replaykit`` appears in the CLI reference.

Walks the click group (``replaykit.cli.main``: every command, every subcommand of a group,
every option flag, secondary flags such as ``--no-strict`` included) and looks for each in
the reference page, in the section of its own command (a flag documented under another
command does not count). The page is either the built site
(``python .ci/check_cli_reference.py site/reference/cli/index.html``, which ``make docs``
runs after ``mkdocs build --strict``) or, with no argument, the markdown mkdocs-click renders
from the ``::: mkdocs-click`` block of ``docs/reference/cli.md`` with that block's options
(no site build: what ``tests/unit/test_docs.py`` checks).

Exit 0 when everything is there, 1 naming what is missing, 2 when the page cannot be read.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"
PROG = "replaykit"

# A section starts at a heading with an id: `<h3 id="replaykit-check"` in HTML,
# `### replaykit check { #replaykit-check ... }` in the markdown mkdocs-click writes.
_HTML_ANCHOR = re.compile(r'<h[1-6][^>]*\sid="([^"]+)"')
_MD_ANCHOR = re.compile(r"^#{1,6} .*\{ *#([\w-]+)", re.M)
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)")


def inventory(group: click.Command | None = None) -> dict[tuple[str, ...], list[str]]:
    """Command path (``("replaykit", "saga", "verify")``) -> its option flags, hidden aside."""
    if group is None:
        from replaykit.cli import main

        group = main
    found: dict[tuple[str, ...], list[str]] = {}

    def walk(command: click.Command, path: tuple[str, ...], parent: click.Context | None) -> None:
        # with the command's context settings, as click (and mkdocs-click) build it: they
        # carry `-h` as a help flag to every subcommand
        ctx = click.Context(command, info_name=path[-1], parent=parent, **command.context_settings)
        flags: list[str] = []
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and not param.hidden:
                flags += [*param.opts, *param.secondary_opts]
        found[path] = flags
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub, (*path, name), ctx)

    walk(group, (PROG,), None)
    return found


def anchor(path: tuple[str, ...]) -> str:
    """The heading id mkdocs-click gives a command (its full path, slugified)."""
    return "-".join(path).lower()


def sections(text: str) -> dict[str, str]:
    """Heading id -> the text up to the next heading with an id (HTML or markdown)."""
    pattern = _HTML_ANCHOR if "<h" in text and _HTML_ANCHOR.search(text) else _MD_ANCHOR
    marks = list(pattern.finditer(text))
    return {
        m.group(1): text[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        for i, m in enumerate(marks)
    }


def missing(text: str, commands: dict[tuple[str, ...], list[str]] | None = None) -> list[str]:
    """What the reference text lacks, one readable line per command or flag."""
    commands = inventory() if commands is None else commands
    by_id = sections(text)
    problems: list[str] = []
    for path, flags in commands.items():
        name = " ".join(path)
        section = by_id.get(anchor(path))
        if section is None:
            problems.append(f"command `{name}` has no section (#{anchor(path)})")
            continue
        present = set(_FLAG.findall(section))
        problems += [f"`{name}`: option {flag} is missing" for flag in flags if flag not in present]
    return problems


def directive_options(page: Path = CLI_PAGE) -> dict[str, str]:
    """The ``:key: value`` options of the page's ``::: mkdocs-click`` block."""
    lines = page.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "::: mkdocs-click")
    options: dict[str, str] = {}
    for line in lines[start + 1 :]:
        match = re.match(r"\s+:(\w+):\s*(.*)$", line)
        if not match:
            break
        options[match.group(1)] = match.group(2).strip()
    return options


def render_markdown(page: Path = CLI_PAGE) -> str:
    """What mkdocs-click puts on the page, without building the site."""
    from mkdocs_click._extension import replace_command_docs

    return "\n".join(replace_command_docs(has_attr_list=True, **directive_options(page)))


def main(argv: list[str]) -> int:
    try:
        if argv:
            source = argv[0]
            text = Path(source).read_text(encoding="utf-8")
        else:
            source = f"mkdocs-click rendering of {CLI_PAGE.relative_to(ROOT)}"
            text = render_markdown()
    except (OSError, StopIteration) as exc:
        print(f"check_cli_reference: cannot read the CLI reference: {exc}", file=sys.stderr)
        return 2
    commands = inventory()
    problems = missing(text, commands)
    if problems:
        print(f"The CLI reference ({source}) is missing:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    flags = sum(len(f) for f in commands.values())
    print(f"CLI reference: {len(commands)} commands and {flags} option flags, all documented")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
