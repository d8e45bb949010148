"""Build ``tinydep``, a tiny installable distribution, as a wheel at any version.

The verdict-cache tests pip-install it at two versions to show that a different installed
version of a dependency makes the histories that imported it replay. Built by hand (a wheel
is a zip file with a ``.dist-info`` folder), so no build backend is needed.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

SOURCE = '''"""tinydep {version}: scales numbers."""

__version__ = "{version}"


def scale(value: int) -> int:
    return value * {factor}
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out: Path, version: str, *, factor: int = 3) -> Path:
    """Write ``tinydep-<version>-py3-none-any.whl`` into ``out``; return its path."""
    out.mkdir(parents=True, exist_ok=True)
    info = f"tinydep-{version}.dist-info"
    files = {
        "tinydep/__init__.py": SOURCE.format(version=version, factor=factor).encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: tinydep\nVersion: {version}\n"
        ).encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: replaykit-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
        f"{info}/top_level.txt": b"tinydep\n",
    }
    record = [_record_line(name, data) for name, data in files.items()]
    record.append(f"{info}/RECORD,,")
    path = out / f"tinydep-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path
