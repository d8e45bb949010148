"""The docs site: the CLI reference names every command and option, the nav holds every page.

The CLI check is ``.ci/check_cli_reference.py`` (``make docs`` runs it on the built site);
here it runs on what mkdocs-click renders from ``docs/reference/cli.md`` with that page's own
options, without building the site (about 2 s).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

pytest.importorskip("mkdocs_click", reason="the docs extra is not installed")


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_cli_reference", ROOT / ".ci" / "check_cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checker() -> ModuleType:
    return _checker()


@pytest.fixture(scope="module")
def rendered(checker: ModuleType) -> str:
    text: str = checker.render_markdown()
    return text


def test_the_walk_finds_every_command_subcommand_and_flag(checker: ModuleType) -> None:
    commands = checker.inventory()
    assert ("replaykit", "check") in commands
    assert ("replaykit", "saga", "verify") in commands
    assert ("replaykit", "saga", "prove-rollback") in commands
    assert "--junit-xml" in commands[("replaykit", "check")]
    assert "--no-strict" in commands[("replaykit", "check")]  # a secondary flag
    assert "-h" in commands[("replaykit", "saga", "verify")]  # the group's help flags reach it


def test_every_cli_command_and_option_is_in_the_reference(
    checker: ModuleType, rendered: str
) -> None:
    assert checker.missing(rendered) == []


def test_a_missing_option_or_command_is_named(checker: ModuleType, rendered: str) -> None:
    without_flag = rendered.replace("--junit-xml", "--junit-xm1")
    assert checker.missing(without_flag) == [
        "`replaykit check`: option --junit-xml is missing",
        "`replaykit shadow`: option --junit-xml is missing",
        "`replaykit shadow status`: option --junit-xml is missing",
    ]
    # a flag documented under another command does not count for this one
    check_section = checker.sections(rendered)["replaykit-check"]
    moved = rendered.replace(check_section, check_section.replace("--shard", "--shar"))
    assert "`replaykit check`: option --shard is missing" in checker.missing(moved)
    without_command = rendered.replace("{ #replaykit-saga-verify", "{ #replaykit-saga-verity")
    assert checker.missing(without_command) == [
        "command `replaykit saga verify` has no section (#replaykit-saga-verify)"
    ]


def test_a_new_command_or_option_fails_until_it_is_documented(
    checker: ModuleType, rendered: str
) -> None:
    @click.group()
    def main() -> None: ...

    @main.command()
    @click.option("--new-flag")
    def check() -> None: ...

    @main.command(name="brand-new")
    def brand_new() -> None: ...

    problems = checker.missing(rendered, checker.inventory(main))
    assert "`replaykit check`: option --new-flag is missing" in problems
    assert "command `replaykit brand-new` has no section (#replaykit-brand-new)" in problems


def test_the_cli_page_renders_the_whole_group(checker: ModuleType) -> None:
    options = checker.directive_options()
    assert options["module"] == "replaykit.cli" and options["command"] == "main"
    assert options.get("show_hidden", "false") == "false"  # the walk leaves hidden ones out


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for v in node.values() for p in _nav_pages(v)]
    if isinstance(node, list):
        return [p for v in node for p in _nav_pages(v)]
    return []


def test_every_docs_page_is_in_the_nav_and_every_nav_page_exists() -> None:
    # mkdocs.yml is plain YAML here (no tags), read with the yaml mkdocs depends on
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = sorted(_nav_pages(config["nav"]))
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert nav == pages


@pytest.mark.parametrize("name", ["shadow", "harvest", "verdict-cache"])
def test_the_pages_other_work_fills_in_are_there(name: str) -> None:
    assert (DOCS / "how-to" / f"{name}.md").read_text(encoding="utf-8").startswith("# ")


def test_every_public_package_has_an_api_page() -> None:
    from tests.unit.test_readme_api import _public_modules

    documented = {
        m.group(1)
        for p in (DOCS / "reference" / "api").glob("*.md")
        for m in re.finditer(r"^::: (replaykit[\w.]*)", p.read_text(encoding="utf-8"), re.M)
    }
    assert {"replaykit", *(m.__name__ for m in _public_modules())} <= documented


def test_the_readme_stays_short_and_keeps_its_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 210
    assert "make demo" in text and "make test" in text


def test_the_module_table_in_contributing_names_every_module() -> None:
    table = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    missing = []
    for folder, package in (("replaykit", "replaykit"), ("replaykit_pytest", "replaykit_pytest")):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder)
            if rel.name == "__init__.py" and folder == "replaykit":
                continue  # a package's contract, not a module of its own
            sub = ".".join((package, *rel.parts[:-1]))
            row = f"| `{sub}` | `{rel.stem}` |"
            if sub == "replaykit" and rel.stem == "strategies":
                row = "| `replaykit` | `strategies` |"
            if row not in table:
                missing.append(f"{sub}.{rel.stem}")
    assert missing == [], "add a row per module to the table in CONTRIBUTING.md"


def test_every_configuration_key_is_in_the_reference() -> None:
    from replaykit.config._config import _KNOWN_KEYS

    page = (DOCS / "reference" / "config.md").read_text(encoding="utf-8")
    assert [k for k in _KNOWN_KEYS if f"| `{k}` |" not in page] == []


def test_every_relative_link_of_the_readme_and_contributing_exists() -> None:
    broken = []
    for name in ("README.md", "CONTRIBUTING.md", "tests/README.md"):
        page = ROOT / name
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{name}: {target}")
    assert broken == []
