"""One settings resolver: every precedence row of every setting, and every face asking it.

Order, highest first: flag > marker > ini > env (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE only) >
[tool.replaykit] > the scenario's own preference > the face's default.

No server is started: a command that connects is pointed at unreachable addresses, one per
source (127.0.0.1:1 flag, :2 env, :3 pyproject, :4 scenario), and its "cannot reach Temporal
at ..." error says which source won. The namespace is observed through the time-skipping
server's "only has the 'default' namespace" check, which every command runs before connecting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from replaykit import CheckOptions, ConfigError, ServerError, ServerSpec, parse_server
from replaykit.config import ProjectConfig
from replaykit.config._settings import (
    CLI_DEFAULT_SERVER,
    DEFAULT_RECORD_MODE,
    DEFAULT_REPLAY_TIMEOUT,
    PYTEST_DEFAULT_SERVER,
    RECORD_MODES,
    Resolver,
    default_fail_on,
    fault_server_spec,
)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------------------ the resolver

# setting -> (value per source); the sources a setting has no row for are left out.
_VALUES: dict[str, dict[str, Any]] = {
    "server": {
        "flag": "127.0.0.1:1",
        "marker": "127.0.0.1:5",
        "ini": "127.0.0.1:6",
        "env": "127.0.0.1:2",
        "pyproject": "127.0.0.1:3",
        "scenario": "127.0.0.1:4",
    },
    "namespace": {"flag": "ns-flag", "env": "ns-env", "pyproject": "ns-py"},
    "workflows": {
        "flag": ("wf_flag",),
        "marker": ("wf_marker",),
        "ini": ("wf_ini",),
        "pyproject": ("wf_py",),
    },
    "histories": {"flag": ("h_flag",), "ini": ("h_ini",), "pyproject": ("h_py",)},
    "plugins": {
        "flag": ("p:flag",),
        "marker": ("p:marker",),
        "ini": ("p:ini",),
        "pyproject": ("p:py",),
    },
    "data_converter": {"flag": "c:flag", "pyproject": "c:py"},
    "fail_on": {"flag": ("option-change",), "pyproject": ("budget",)},
    "allow": {"flag": ("a-flag",), "pyproject": ("a-py",)},
    "volatile": {"flag": ("activity:f.x",), "pyproject": ("activity:p.x",)},
    "jobs": {"flag": 3, "pyproject": 5},
    "deployment_version": {"flag": "svc.flag", "pyproject": "svc.py"},
}
_ORDER = ("flag", "marker", "ini", "env", "pyproject", "scenario")
_ENV = {"server": "TEMPORAL_ADDRESS", "namespace": "TEMPORAL_NAMESPACE"}
_DEFAULTS: dict[str, tuple[Any, Any]] = {  # (cli, pytest)
    "server": (CLI_DEFAULT_SERVER, PYTEST_DEFAULT_SERVER),
    "namespace": ("default", "default"),
    "workflows": ((), ()),
    "histories": ((), ()),
    "plugins": ((), ()),
    "data_converter": (None, None),
    "fail_on": (default_fail_on(), default_fail_on()),
    "allow": ((), ()),
    "volatile": ((), ()),
    "jobs": (None, None),
    "deployment_version": (None, None),
}


def _resolver(name: str, rows: list[str], face: str = "cli") -> tuple[Resolver, Any]:
    """A resolver whose ``rows`` sources all set ``name``; the scenario value, if any."""
    values = _VALUES[name]
    project: dict[str, Any] = {}
    env: dict[str, str] = {}
    kwargs: dict[str, dict[str, Any]] = {"flags": {}, "marker": {}, "ini": {}}
    scenario = None
    for row in rows:
        value = values[row]
        if row in ("flag", "marker", "ini"):
            kwargs["flags" if row == "flag" else row][name] = value
        elif row == "env":
            env[_ENV[name]] = value
        elif row == "pyproject":
            project[name] = value
        elif row == "scenario":
            scenario = value
    return Resolver(
        face=face,
        project=ProjectConfig(**project),
        env=env,  # type: ignore[arg-type]
        **kwargs,
    ), scenario


def _ask(resolver: Resolver, name: str, scenario: Any) -> Any:
    if name == "server":
        return resolver.server(scenario=scenario)
    return getattr(resolver, name)()


_ROWS = [(name, row) for name, values in _VALUES.items() for row in _ORDER if row in values]


@pytest.mark.parametrize(("name", "row"), _ROWS, ids=[f"{n}-{r}" for n, r in _ROWS])
def test_each_row_beats_every_row_below_it(name: str, row: str) -> None:
    values = _VALUES[name]
    below = [r for r in _ORDER[_ORDER.index(row) :] if r in values]
    for face in ("cli", "pytest"):
        resolver, scenario = _resolver(name, below, face)
        got = _ask(resolver, name, scenario)
        want = values[row]
        if name == "fail_on":
            want = frozenset(want)
        assert got.value == want
        assert got.source == (f"env {_ENV[name]}" if row == "env" else row)


@pytest.mark.parametrize("name", list(_VALUES))
def test_the_default_row_per_face(name: str) -> None:
    for face, want in zip(("cli", "pytest"), _DEFAULTS[name], strict=True):
        got = _ask(Resolver(face=face, env={}), name, None)  # type: ignore[arg-type]
        assert (got.value, got.source) == (want, "default")


def test_only_temporals_variables_count_from_the_environment() -> None:
    env = {
        "TEMPORAL_ADDRESS": "h:1",
        "TEMPORAL_NAMESPACE": "ns",
        "REPLAYKIT_WORKFLOWS": "x",
        "TEMPORAL_WORKFLOWS": "x",
        "JOBS": "4",
    }
    resolver = Resolver(env=env)
    assert resolver.server().source == "env TEMPORAL_ADDRESS"
    assert resolver.namespace().source == "env TEMPORAL_NAMESPACE"
    assert resolver.workflows().source == "default"
    assert resolver.jobs().source == "default"


def test_a_jobs_flag_of_zero_counts_as_set() -> None:
    got = Resolver(flags={"jobs": 0}, project=ProjectConfig(jobs=4)).jobs()
    assert (got.value, got.source) == (0, "flag")


def test_pyproject_histories_are_relative_to_the_pyproject(tmp_path: Path) -> None:
    got = Resolver(project=ProjectConfig(root=tmp_path, histories=("h",))).histories()
    assert got.value == (str(tmp_path / "h"),)


@pytest.mark.parametrize(
    ("kwargs", "source"),
    [
        ({"flags": {"fail_on": ["nope"]}}, "flag"),
        ({"project": ProjectConfig(fail_on=("nope",))}, "pyproject"),
    ],
)
def test_a_bad_fail_on_names_its_source(kwargs: dict[str, Any], source: str) -> None:
    with pytest.raises(ConfigError, match=rf"fail_on='nope' \(from {source}\) is not valid"):
        Resolver(**kwargs).fail_on()


def test_a_bad_server_names_where_it_came_from() -> None:
    with pytest.raises(ServerError, match=r"server 'nope' from env TEMPORAL_ADDRESS"):
        Resolver(env={"TEMPORAL_ADDRESS": "nope"}).spec()
    with pytest.raises(ServerError, match=r"namespace 'ns-py' from pyproject"):
        Resolver(flags={"server": "timeskip"}, project=ProjectConfig(namespace="ns-py")).spec()


def test_parse_server_falls_back_through_the_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "h:7")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "n")
    assert parse_server(None) == ServerSpec("external", address="h:7", namespace="n")


def test_the_default_fail_on_lives_in_one_function() -> None:
    assert CheckOptions().fail_on == default_fail_on() == {"nondeterminism", "drift"}


def test_the_persistent_store_decision(tmp_path: Path) -> None:
    spec, folder = fault_server_spec(None, kills_server=False)
    assert (spec, folder) == (ServerSpec("embedded"), None)
    spec, folder = fault_server_spec(None, kills_server=True, workdir=str(tmp_path))
    assert folder is not None and Path(folder).parent == tmp_path
    assert spec.kind == "embedded" and spec.db_filename == os.path.join(folder, "server.db")
    given = ServerSpec("embedded", db_filename="mine.db")
    assert fault_server_spec(given, kills_server=True) == (given, None)
    external = ServerSpec("external", address="h:1")
    assert fault_server_spec(external, kills_server=False) == (external, None)
    with pytest.raises(ServerError, match="killing the server needs the embedded server"):
        fault_server_spec(external, kills_server=True)


# ------------------------------------------------------------------------------ the CLI

_SCENARIO = """
from temporalio import workflow

from replaykit import scenario


@workflow.defn(name="SettingsNoop")
class SettingsNoop:
    @workflow.run
    async def run(self) -> None:
        return None


@scenario(workflows=[SettingsNoop], server={server!r})
async def settings_noop(run):
    await run.execute(SettingsNoop.run, id="settings-noop")
"""


def _project(tmp_path: Path, **table: str) -> None:
    body = "".join(f"{k} = {v!r}\n" for k, v in table.items())
    (tmp_path / "pyproject.toml").write_text(f"[tool.replaykit]\n{body}")


def _invoke(command: str, tmp_path: Path, extra: list[str]) -> str:
    """Run one command in-process in ``tmp_path``; its output (it must exit 2)."""
    import importlib

    scen = str(tmp_path / "scen.py")
    out = str(tmp_path / "out")
    args = {
        "record": (["record", scen, "--out", out]),
        "patches": (["patches", "--generate-old", scen, "--out", out]),
        "faults": (["faults", scen]),
        "pull": (["pull", "--out", out]),
        "saga": (["saga", "prove-rollback", scen, "--step", "a:b", "--snapshot", "snap:snapshot"]),
    }[command]
    module = importlib.import_module(f"replaykit.cli.{command}")
    result = CliRunner().invoke(module.command, [*args[1:], *extra])
    assert result.exit_code == 2, result.output
    return result.output


_CONNECTING = ["record", "patches", "faults", "pull", "saga"]
_SCENARIO_COMMANDS = {"record", "patches", "faults"}  # where a scenario's own server= applies


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)
    (tmp_path / "snap.py").write_text("def snapshot():\n    return {}\n")
    return tmp_path


# row -> (flag args, env, pyproject server, scenario server, the address that must win)
_SERVER_ROWS: dict[str, tuple[list[str], str | None, str | None, str | None, str]] = {
    "flag": (
        ["--server", "127.0.0.1:1"],
        "127.0.0.1:2",
        "127.0.0.1:3",
        "127.0.0.1:4",
        "127.0.0.1:1",
    ),
    "address-flag": (
        ["--address", "127.0.0.1:1"],
        "127.0.0.1:2",
        "127.0.0.1:3",
        None,
        "127.0.0.1:1",
    ),
    "env": ([], "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:2"),
    "pyproject": ([], None, "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:3"),
    "scenario": ([], None, None, "127.0.0.1:4", "127.0.0.1:4"),
}
_CLI_SERVER_CASES = [
    (cmd, row)
    for cmd in _CONNECTING
    for row in _SERVER_ROWS
    if row != "scenario" or cmd in _SCENARIO_COMMANDS
]


@pytest.mark.parametrize(
    ("command", "row"), _CLI_SERVER_CASES, ids=[f"{c}-{r}" for c, r in _CLI_SERVER_CASES]
)
def test_each_command_targets_the_server_the_resolver_picks(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, command: str, row: str
) -> None:
    flags, env, pyproject, scenario_server, want = _SERVER_ROWS[row]
    if env:
        monkeypatch.setenv("TEMPORAL_ADDRESS", env)
    if pyproject:
        _project(project_dir, server=pyproject)
    (project_dir / "scen.py").write_text(_SCENARIO.format(server=scenario_server))
    output = _invoke(command, project_dir, flags)
    assert f"cannot reach Temporal at {want}" in output


# row -> (flag args, env, pyproject namespace, the namespace that must win, its source)
_NAMESPACE_ROWS: dict[str, tuple[list[str], str | None, str | None, str, str]] = {
    "flag": (["--namespace", "ns-flag"], "ns-env", "ns-py", "ns-flag", "flag"),
    "env": ([], "ns-env", "ns-py", "ns-env", "env TEMPORAL_NAMESPACE"),
    "pyproject": ([], None, "ns-py", "ns-py", "pyproject"),
}
_CLI_NAMESPACE_CASES = [(cmd, row) for cmd in _CONNECTING for row in _NAMESPACE_ROWS]


@pytest.mark.parametrize(
    ("command", "row"), _CLI_NAMESPACE_CASES, ids=[f"{c}-{r}" for c, r in _CLI_NAMESPACE_CASES]
)
def test_each_command_uses_the_namespace_the_resolver_picks(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, command: str, row: str
) -> None:
    flags, env, pyproject, want, source = _NAMESPACE_ROWS[row]
    if env:
        monkeypatch.setenv("TEMPORAL_NAMESPACE", env)
    if pyproject:
        _project(project_dir, namespace=pyproject)
    (project_dir / "scen.py").write_text(_SCENARIO.format(server=None))
    output = _invoke(command, project_dir, ["--server", "timeskip", *flags])
    assert f"only has the 'default' namespace, not '{want}'" in output
    assert f"from {source}" in output


@pytest.mark.parametrize(
    ("args", "table", "source"),
    [
        (["--fail-on", "drift"], {"fail_on": "nope"}, None),
        ([], {"fail_on": "nope"}, "pyproject"),
    ],
)
def test_check_takes_fail_on_from_the_resolver(
    project_dir: Path, args: list[str], table: dict[str, str], source: str | None
) -> None:
    from replaykit.cli.check import command

    _project(project_dir, workflows="no_such_workflows_module", **table)
    (project_dir / "h").mkdir()
    result = CliRunner().invoke(command, ["h", *args])
    assert result.exit_code == 2, result.output
    bad = "fail_on='nope' (from pyproject) is not valid"
    assert (bad in result.output) == (source is not None), result.output


_CONVERTER_CASES = [
    (c, r)
    for c in ("check", "replay", "rollout", "show", "diff", "patches")
    for r in ("flag", "pyproject")
    if (c, r) != ("patches", "flag")
]


@pytest.mark.parametrize(
    ("command", "row"), _CONVERTER_CASES, ids=[f"{c}-{r}" for c, r in _CONVERTER_CASES]
)
def test_each_command_takes_the_data_converter_from_the_resolver(
    project_dir: Path, command: str, row: str
) -> None:
    """A bad converter module fails naming itself: which one shows which source won."""
    import importlib
    import shutil

    history = next((ROOT / "fixtures" / "histories").rglob("*.json"))
    shutil.copy(history, project_dir / "one.json")
    shutil.copy(history, project_dir / "two.json")
    _project(
        project_dir,
        data_converter="conv_from_pyproject:x",
        workflows="reference_agents",
        deployment_version="svc.1",
    )
    flag = ["--data-converter", "conv_from_flag:x"] if row == "flag" else []
    args = {
        "check": ["one.json"],
        "replay": ["one.json"],
        "rollout": ["one.json"],
        "show": ["one.json"],
        "diff": ["one.json", "two.json"],
        "patches": ["one.json"],
    }[command]
    module = importlib.import_module(f"replaykit.cli.{command}")
    result = CliRunner().invoke(module.command, [*args, *flag])
    want = "conv_from_flag" if row == "flag" else "conv_from_pyproject"
    other = "conv_from_pyproject" if row == "flag" else "conv_from_flag"
    assert want in result.output, result.output
    assert other not in result.output


# ------------------------------------------------------------------------------ pytest

_PRINT_SETTINGS = """
import pytest

def test_settings(replaykit_settings):
    s = replaykit_settings
    print(f"SERVER={s.server} FROM={s.server_source} NS={s.namespace} NSFROM={s.namespace_source}")

@pytest.mark.replaykit(server="127.0.0.1:5")
def test_marked(replaykit_settings):
    print(f"MARKED={replaykit_settings.server} FROM={replaykit_settings.server_source}")
"""


def _pytest_run(
    pytester: pytest.Pytester,
    *,
    env: dict[str, str],
    ini: str | None,
    pyproject: dict[str, str],
    args: list[str],
) -> str:
    table = "".join(f"{k} = {v!r}\n" for k, v in pyproject.items())
    ini_line = f"replaykit_server = {ini!r}\n" if ini else ""
    pytester.makepyprojecttoml(
        f"[tool.replaykit]\n{table}\n[tool.pytest.ini_options]\n{ini_line}"
        'asyncio_default_fixture_loop_scope = "function"\n'
    )
    pytester.makepyfile(_PRINT_SETTINGS)
    for key in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"):
        pytester._monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        pytester._monkeypatch.setenv(key, value)
    result = pytester.runpytest_subprocess("-s", "-p", "no:randomly", *args)
    result.assert_outcomes(passed=2)
    return result.stdout.str()


# row -> (flag args, ini, env, pyproject, server that must win, its source)
_PYTEST_ROWS: dict[str, tuple[list[str], str | None, dict[str, str], dict[str, str], str, str]] = {
    "flag": (
        ["--replaykit-server=127.0.0.1:1"],
        "127.0.0.1:6",
        {"TEMPORAL_ADDRESS": "127.0.0.1:2"},
        {"server": "127.0.0.1:3"},
        "127.0.0.1:1",
        "flag",
    ),
    "ini": (
        [],
        "127.0.0.1:6",
        {"TEMPORAL_ADDRESS": "127.0.0.1:2"},
        {"server": "127.0.0.1:3"},
        "127.0.0.1:6",
        "ini",
    ),
    "env": (
        [],
        None,
        {"TEMPORAL_ADDRESS": "127.0.0.1:2"},
        {"server": "127.0.0.1:3"},
        "127.0.0.1:2",
        "env TEMPORAL_ADDRESS",
    ),
    "pyproject": ([], None, {}, {"server": "127.0.0.1:3"}, "127.0.0.1:3", "pyproject"),
    "default": ([], None, {}, {}, "timeskip", "default"),
}


@pytest.mark.parametrize("row", list(_PYTEST_ROWS))
def test_the_pytest_plugin_resolves_the_server_in_the_same_order(
    pytester: pytest.Pytester, row: str
) -> None:
    args, ini, env, pyproject, want, source = _PYTEST_ROWS[row]
    out = _pytest_run(pytester, env=env, ini=ini, pyproject=pyproject, args=args)
    assert f"SERVER={want} FROM={source} " in out
    marked = ("127.0.0.1:1", "flag") if row == "flag" else ("127.0.0.1:5", "marker")
    assert f"MARKED={marked[0]} FROM={marked[1]}" in out


@pytest.mark.parametrize(
    ("env", "pyproject", "want", "source"),
    [
        (
            {"TEMPORAL_NAMESPACE": "ns-env"},
            {"namespace": "ns-py"},
            "ns-env",
            "env TEMPORAL_NAMESPACE",
        ),
        ({}, {"namespace": "ns-py"}, "ns-py", "pyproject"),
        ({}, {}, "default", "default"),
    ],
)
def test_the_pytest_plugin_resolves_the_namespace_in_the_same_order(
    pytester: pytest.Pytester,
    env: dict[str, str],
    pyproject: dict[str, str],
    want: str,
    source: str,
) -> None:
    out = _pytest_run(
        pytester, env=env, ini=None, pyproject={"server": "h:1", **pyproject}, args=[]
    )
    assert f"NS={want} NSFROM={source}" in out


_FAULTS_TEST = """
def test_faults(replaykit_faults):
    replaykit_faults("scen.py")
"""


@pytest.mark.parametrize(
    ("how", "want"),
    [
        ("ini", "127.0.0.1:6"),
        ("env", "127.0.0.1:2"),
        ("pyproject", "127.0.0.1:3"),
    ],
)
def test_the_faults_fixture_uses_the_resolved_server(
    pytester: pytest.Pytester, how: str, want: str
) -> None:
    ini = "replaykit_server = '127.0.0.1:6'\n" if how == "ini" else ""
    table = "server = '127.0.0.1:3'\n" if how in ("ini", "pyproject", "env") else ""
    pytester.makepyprojecttoml(
        f"[tool.replaykit]\n{table}\n[tool.pytest.ini_options]\n{ini}"
        'asyncio_default_fixture_loop_scope = "function"\n'
    )
    (pytester.path / "scen.py").write_text(_SCENARIO.format(server=None))
    pytester.makepyfile(_FAULTS_TEST)
    pytester._monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)
    if how == "env":
        pytester._monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:2")
    else:
        pytester._monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    assert f"cannot reach Temporal at {want}" in result.stdout.str()


def test_the_docs_precedence_table_lists_the_rows_in_order() -> None:
    text = (ROOT / "docs" / "how-to" / "config.md").read_text()
    start = text.index("| Source")
    table = text[start : text.index("\n\n", start)]
    positions = [
        table.index(w)
        for w in (
            "flag",
            "marker",
            "ini",
            "TEMPORAL_ADDRESS",
            "[tool.replaykit]",
            "scenario",
            "default",
        )
    ]
    assert positions == sorted(positions), table


def test_the_config_docstring_points_at_the_one_resolver() -> None:
    import replaykit.config._config

    doc = replaykit.config._config.__doc__ or ""
    assert "replaykit.config._settings" in doc
    assert "precedence is decided in one place" not in doc


def test_scenario_server_groups_follow_the_resolver_per_scenario() -> None:
    from types import SimpleNamespace

    from replaykit.config._settings import scenario_server_groups

    a, b, c = (
        SimpleNamespace(name=n, server=s)
        for n, s in (("a", "timeskip"), ("b", None), ("c", "timeskip"))
    )
    groups = scenario_server_groups([a, b, c], Resolver(env={}), db_filename="s.db")
    assert [(spec.kind, [s.name for s in group]) for spec, group in groups] == [
        ("timeskip", ["a", "c"]),
        ("embedded", ["b"]),
    ]
    assert groups[1][0].db_filename == "s.db"
    # a flag (or env, or [tool.replaykit] server) outranks every scenario's own server=
    flagged = scenario_server_groups([a, b, c], Resolver(flags={"server": "embedded"}, env={}))
    assert [(spec.kind, len(group)) for spec, group in flagged] == [("embedded", 3)]
    env = scenario_server_groups([a, b], Resolver(env={"TEMPORAL_ADDRESS": "h:7"}))
    assert [(spec.address, len(group)) for spec, group in env] == [("h:7", 2)]
    with pytest.raises(ServerError, match="from scenario"):
        scenario_server_groups([SimpleNamespace(name="x", server="nope")], Resolver(env={}))


def test_a_store_goes_where_the_server_was_chosen_and_record_and_faults_group_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One grouping rule: ``record``/``patches`` (through the CLI's ``server_groups``) and
    ``faults`` (through ``scenario_server_groups``) agree, also on ``--db-filename``."""
    from types import SimpleNamespace

    import click

    from replaykit.cli._options import server_groups
    from replaykit.config._settings import scenario_server_groups

    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)
    a, b = SimpleNamespace(name="a", server="timeskip"), SimpleNamespace(name="b", server=None)
    project = ProjectConfig()
    # Chosen per scenario: the store goes to the embedded group only.
    for server in (None, "embedded"):
        cli = server_groups(
            [a, b], server=server, namespace=None, db_filename="s.db", project=project
        )
        lib = scenario_server_groups(
            [a, b], Resolver(flags={"server": server}, env={}, project=project), db_filename="s.db"
        )
        assert cli == lib
    per_scenario = server_groups(
        [a, b], server=None, namespace=None, db_filename="s.db", project=project
    )
    assert [(spec.kind, spec.db_filename) for spec, _ in per_scenario] == [
        ("timeskip", None),
        ("embedded", "s.db"),
    ]
    # Chosen above the scenarios, a store on a server that cannot have one is an error.
    with pytest.raises(ServerError, match="embedded"):
        scenario_server_groups(
            [a], Resolver(flags={"server": "timeskip"}, env={}), db_filename="s.db"
        )
    with pytest.raises(click.BadParameter, match="embedded"):
        server_groups([a], server="timeskip", namespace=None, db_filename="s.db", project=project)
    with pytest.raises(click.BadParameter, match="not both"):
        server_groups(
            [a], server="embedded", address="h:1", namespace=None, db_filename=None, project=project
        )


# ------------------------------------------------------- strict, timeout, record: one default


@pytest.mark.parametrize(
    ("sources", "strict", "source"),
    [
        ({}, True, "default"),
        ({"project": ProjectConfig(strict=False)}, False, "pyproject"),
        ({"project": ProjectConfig(strict=False), "ini": {"strict": True}}, True, "ini"),
        ({"ini": {"strict": True}, "marker": {"strict": False}}, False, "marker"),
        ({"marker": {"strict": False}, "flags": {"strict": True}}, True, "flag"),
    ],
)
def test_strict_follows_the_one_precedence_order(
    sources: dict[str, Any], strict: bool, source: str
) -> None:
    got = Resolver(**sources).strict()
    assert (got.value, got.source) == (strict, source)
    assert CheckOptions.from_settings(Resolver(**sources)).strict is strict


def test_timeout_and_its_errors_name_the_source() -> None:
    assert Resolver().timeout().value == DEFAULT_REPLAY_TIMEOUT == CheckOptions().timeout
    assert Resolver(project=ProjectConfig(timeout=5.0)).timeout().value == 5.0
    assert Resolver(project=ProjectConfig(timeout=5.0), flags={"timeout": 7}).timeout().value == 7
    with pytest.raises(ConfigError, match=r"replaykit_timeout='soon' is not valid"):
        Resolver(face="pytest", ini={"timeout": "soon"}).timeout()
    with pytest.raises(ConfigError, match=r"--timeout=-1 is not valid"):
        Resolver(flags={"timeout": -1}).timeout()
    with pytest.raises(ConfigError, match=r"^strict=.yes. is not valid"):
        Resolver(marker={"strict": "yes"}).strict()


def test_record_mode_has_one_default_and_its_choices() -> None:
    assert Resolver(face="pytest").record().value == DEFAULT_RECORD_MODE == "none"
    assert Resolver(face="pytest", flags={"record": "all"}).record().value == "all"
    with pytest.raises(ConfigError, match="record"):
        Resolver(face="pytest", flags={"record": "sometimes"}).record()
    from replaykit_pytest._settings import RECORD_MODES as PLUGIN_MODES

    assert PLUGIN_MODES == RECORD_MODES


def test_pyproject_strict_and_timeout_are_validated(tmp_path: Path) -> None:
    from replaykit.config import load_project_config

    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.replaykit]\nstrict = false\ntimeout = 30\n")
    config = load_project_config(path)
    assert (config.strict, config.timeout) == (False, 30.0)
    for bad, message in (("strict = 'no'", "strict must be"), ("timeout = 0", "timeout must be")):
        path.write_text(f"[tool.replaykit]\n{bad}\n")
        with pytest.raises(ConfigError, match=message):
            load_project_config(path)


def test_check_options_are_built_from_the_settings_in_one_place(tmp_path: Path) -> None:
    """Every setting CheckOptions holds comes from the resolver; the commands and the plugin
    build their options with CheckOptions.from_settings (no caller lists the fields)."""
    import re

    settings = Resolver(
        flags={"allow": ("prompt",), "volatile": ("activity:a.b",), "timeout": 9.0},
        project=ProjectConfig(
            strict=False,
            fail_on=("drift",),
            plugins=("m:p",),
            data_converter="m:c",
            deployment_version="agent.v2",
            budgets={"events_warn": 5},
        ),
    )
    options = CheckOptions.from_settings(settings, budget_flags=["horizon=7"], sandbox=False)
    assert options.strict is False and options.timeout == 9.0 and options.sandbox is False
    assert options.allow == ("prompt",) and options.volatile == ("activity:a.b",)
    assert options.fail_on == frozenset({"drift"}) and options.plugins == ("m:p",)
    assert options.data_converter == "m:c" and options.deployment_version == "agent.v2"
    assert (options.budget.events_warn, options.budget.horizon) == (5, 7)
    callers = [*ROOT.joinpath("replaykit", "cli").glob("*.py"), *ROOT.glob("replaykit_pytest/*.py")]
    building = [p.name for p in callers if re.search(r"\bCheckOptions\(", p.read_text())]
    assert building == []
