"""The embedded dev server: the ``temporal server start-dev`` command line replaykit runs."""

from __future__ import annotations

from pathlib import Path

from replaykit.config._server_spec import ServerSpec


def _embedded_argv(binary: Path, spec: ServerSpec, port: int) -> list[str]:
    argv = [
        str(binary),
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
    ]
    if spec.namespace != "default":
        argv += ["--namespace", spec.namespace]
    if spec.db_filename is not None:
        argv += ["--db-filename", str(Path(spec.db_filename).resolve())]
    return argv


def _embedded_with_port(argv: list[str], port: int) -> list[str]:
    new = list(argv)
    new[new.index("--port") + 1] = str(port)
    return new
