"""The verdict cache: reuse a history's pass when nothing it depends on has changed.

A verdict depends on three things, and an entry records all three:

- **the history**: its content digest (the entry's file name);
- **the code that replayed it**: every module the replay imported, as the sandbox's
  importer saw it while it replayed (lazy imports inside workflow methods included), with
  project modules keyed by content and their path below their ``sys.path`` root, installed
  distributions by exact version, and the Python version;
- **the judgment**: replaykit's and temporalio's versions (and replaykit's own source) and
  every option that changes a verdict (strict, fail_on, allow, volatile, plugins, data
  converter, deployment version, budgets, sandbox, workflow id).

Paths and the environment are not in the key, so a cache restored on another CI runner
hits. Only passes are stored: a diverged or errored history always replays. When a
dependency cannot be pinned down (a module without a source file, a data file read while
the workflow code ran), the verdict is not stored and the reason is reported.

Worker processes describe what each replay depended on (:class:`DependencyTracker`); the
parent process looks entries up before replaying and stores passes afterwards
(:class:`VerdictCache`), hashing each dependency once per run.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import os
import platform
import sys
import sysconfig
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replaykit._internal._frames import INSTALLED_PARTS

from ._divergence import Divergence, HistoryResult

if TYPE_CHECKING:
    from ._engine import CheckOptions

__all__ = [
    "ENTRY_FORMAT",
    "DependencyTracker",
    "note_check_input",
    "ReplayDeps",
    "VerdictCache",
    "record_host_imports",
    "start_recording_opens",
    "stop_recording_opens",
]

#: Bumped when the entry layout or the meaning of a key part changes.
ENTRY_FORMAT = 2

#: Passes kept per history for different judgments and environments (a CI matrix of
#: Python versions or deployment versions does not evict its own entries), newest first.
MAX_VARIANTS = 4

# ---------------------------------------------------------------------------------------
# Files opened while a workflow runs

_SINKS: list[set[str]] = []
_SINKS_LOCK = threading.Lock()
_HOOKED = False


#: Data files read by modules while the host imported them: module name -> paths.
_HOST_READS: dict[str, set[str]] = {}
_HOST_RECORDING = 0


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not args or not (_SINKS or _HOST_RECORDING):
        return
    path = args[0]
    if not isinstance(path, (str, bytes)):
        return  # a file descriptor
    text = os.path.abspath(os.fsdecode(path))
    for sink in list(_SINKS):
        sink.add(text)
    if _HOST_RECORDING and not text.endswith(_CODE_SUFFIXES):
        # The module whose body is running: the innermost module-level frame.
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_name != "<module>":
            frame = frame.f_back  # type: ignore[assignment]
        if frame is not None:
            name = frame.f_globals.get("__name__")
            if isinstance(name, str):
                _HOST_READS.setdefault(name, set()).add(text)


#: History files the check itself reads: never a dependency of the code that replays.
_CHECK_INPUTS: set[str] = set()


def note_check_input(path: str | os.PathLike[str]) -> None:
    """A file the check reads itself (a history), possibly while another history replays."""
    _CHECK_INPUTS.add(os.path.abspath(path))


def _install_hook() -> None:
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)  # the "open" audit event: builtins.open, io, os.open
        _HOOKED = True


class record_host_imports:  # noqa: N801 - used as a context manager, like a function
    """While active, data files that module bodies open are remembered per module.

    Wrapped around the import of the workflow modules: a module that reads a file when it
    is imported (outside the sandbox, or passed through into it) makes every replay that
    depends on it unpinnable.
    """

    def __enter__(self) -> None:
        global _HOST_RECORDING
        with _SINKS_LOCK:
            _install_hook()
            _HOST_RECORDING += 1

    def __exit__(self, *exc: object) -> None:
        global _HOST_RECORDING
        with _SINKS_LOCK:
            _HOST_RECORDING -= 1


def start_recording_opens() -> set[str]:
    """Start collecting every path this process opens (from any thread); returns the set.

    The workflow code of a sandboxed replay runs on the SDK's executor thread, so the
    recording is process-wide; histories replay one at a time per pipeline.
    """
    with _SINKS_LOCK:
        _install_hook()
        sink: set[str] = set()
        _SINKS.append(sink)
    return sink


def stop_recording_opens(sink: set[str]) -> None:
    """Stop adding to ``sink`` (a set :func:`start_recording_opens` returned)."""
    with _SINKS_LOCK:
        for i, other in enumerate(_SINKS):
            if other is sink:
                del _SINKS[i]
                return


# ---------------------------------------------------------------------------------------
# What one replay depended on (worker side)


@dataclass(frozen=True)
class ReplayDeps:
    """The code one replay depended on.

    Attributes:
        modules: ``(module name, path below its sys.path root, content digest)`` of every
            project module.
        distributions: ``(distribution, exact version)`` of every installed distribution
            a replayed module came from.
        unpinned: Why the dependencies cannot be pinned down (the verdict is then not
            stored), or None.
    """

    modules: tuple[tuple[str, str, str], ...] = ()
    distributions: tuple[tuple[str, str], ...] = ()
    unpinned: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what an entry stores)."""
        return {
            "modules": [list(m) for m in self.modules],
            "distributions": [list(d) for d in self.distributions],
        }


_CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".pyd", ".so", ".pth", ".pb", ".tmp")
_SKIP_NAMES = frozenset({"__main__", "__temporal_main__", "sys", "builtins"})


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@functools.lru_cache(maxsize=1)
def _stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.realpath(paths[k]) + os.sep for k in ("stdlib", "platstdlib") if k in paths}
    return tuple(sorted(dirs))


@functools.lru_cache(maxsize=1)
def _install_dirs() -> tuple[str, ...]:
    """Folders whose files are pinned by a version: the stdlib and the interpreter's prefixes."""
    dirs = set(_stdlib_dirs())
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        dirs.add(os.path.realpath(prefix) + os.sep)
    return tuple(sorted(dirs))


def _is_stdlib(path: str) -> bool:
    return path.startswith(_stdlib_dirs()) and not any(p in path for p in INSTALLED_PARTS)


@dataclass(frozen=True)
class _Classified:
    kind: str  # "skip", "module", "dist", "unpinned"
    a: str = ""
    b: str = ""
    c: str = ""
    path: str = ""  # the module's file (project modules)


class DependencyTracker:
    """Describes what a replay depended on; hashes each file once (one per check run)."""

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._classified: dict[tuple[str, str | None], _Classified] = {}
        self._static: dict[str, tuple[str, ...]] = {}
        self._roots: dict[str, list[str]] = {}
        self._records: dict[str, frozenset[str]] = {}
        self._candidates: dict[tuple[str, str], list[str]] = {}
        self._tops: dict[str, frozenset[str]] = {}
        self._names: dict[str, tuple[str, str] | None] = {}

    def _installed(self, root: str, rel: str) -> tuple[str, str] | None:
        """``(distribution, version)`` whose ``RECORD`` (in ``root``) lists ``rel``.

        Only files an installer recorded are pinned by a version: an editable install's
        project files, or a file nobody installed, count by content instead.
        """
        top = rel.split("/", 1)[0].partition(".")[0]
        candidates = self._candidates.get((root, top))
        if candidates is None:
            infos = self._roots.get(root)
            if infos is None:
                try:
                    names = sorted(os.listdir(root))
                except OSError:
                    names = []
                infos = self._roots[root] = [
                    os.path.join(root, n) for n in names if n.endswith(".dist-info")
                ]
            wanted = _normalize(top)
            # The distribution named like the top-level package first: usually the one.
            ordered = sorted(infos, key=lambda i: _normalize(os.path.basename(i)) != wanted)
            candidates = self._candidates[(root, top)] = [
                i for i in ordered if top in self._top_levels(i, default=top)
            ]
        for info in candidates:
            if rel in self._record(info):
                if info not in self._names:
                    self._names[info] = self._name_version(info)
                return self._names[info]
        return None

    def _top_levels(self, info: str, *, default: str) -> frozenset[str]:
        """The top-level names ``top_level.txt`` lists; without one, any (``default``)."""
        got = self._tops.get(info)
        if got is None:
            try:
                with open(os.path.join(info, "top_level.txt"), encoding="utf-8") as fh:
                    got = frozenset(line.strip() for line in fh if line.strip())
            except OSError:
                got = frozenset({"*"})
            self._tops[info] = got
        return frozenset({default}) if got == {"*"} else got

    def _record(self, info: str) -> frozenset[str]:
        got = self._records.get(info)
        if got is None:
            try:
                with open(os.path.join(info, "RECORD"), encoding="utf-8") as fh:
                    got = frozenset(line.split(",", 1)[0] for line in fh if line.strip())
            except OSError:
                got = frozenset()
            self._records[info] = got
        return got

    @staticmethod
    def _name_version(info: str) -> tuple[str, str] | None:
        name = version = None
        try:
            with open(os.path.join(info, "METADATA"), encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
                    if (name and version) or not line.strip():
                        break
        except (OSError, UnicodeDecodeError):
            return None
        return (name, version) if name and version else None

    def file_digest(self, path: str) -> str:
        """The content digest of a file, read once."""
        got = self._files.get(path)
        if got is None:
            with open(path, "rb") as fh:
                got = self._files[path] = _digest(fh.read())
        return got

    def classify(self, name: str, module: Any) -> _Classified:
        """What a loaded module contributes to the key (memoized per name and file)."""
        try:
            file = getattr(module, "__file__", None)
        except Exception:  # noqa: BLE001 - a restricted or odd module object
            file = None
        key = (name, file if isinstance(file, str) else None)
        got = self._classified.get(key)
        if got is None:
            got = self._classified[key] = self._classify(name, module, key[1])
        return got

    def _classify(self, name: str, module: Any, file: str | None) -> _Classified:
        if name in _SKIP_NAMES or name in sys.builtin_module_names:
            return _Classified("skip")
        if name == "replaykit" or name.startswith("replaykit."):
            return _Classified("skip")  # its version and whole source are in the key
        if file is None:
            spec = getattr(module, "__spec__", None)
            origin = getattr(spec, "origin", None)
            if origin in ("built-in", "frozen") or getattr(module, "__path__", None) is not None:
                return _Classified("skip")  # built in, frozen, or a namespace package
            parent_name = name.rpartition(".")[0]
            parent = sys.modules.get(parent_name) if parent_name else None
            if parent is not None:
                # Made by its package's code (pyexpat.model, six.moves): pinned with it.
                inherited = self.classify(parent_name, parent)
                if inherited.kind in ("skip", "dist"):
                    return inherited
            return _Classified(
                "unpinned", f"module {name} has no source file, so its code cannot be pinned"
            )
        real = os.path.realpath(file)
        if _is_stdlib(real):
            return _Classified("skip")  # the Python version pins it
        parts = name.split(".")
        base = os.path.basename(real)
        is_package = base.startswith("__init__.")
        rel = os.path.join(*(parts if is_package else parts[:-1]), base)
        if not real.endswith(os.sep + rel):
            return _Classified(
                "unpinned",
                f"module {name} was loaded from {real}, not from a path its name gives",
            )
        installed = self._installed(real[: -len(rel) - 1], rel.replace(os.sep, "/"))
        if installed is not None:
            return _Classified("dist", installed[0], installed[1])
        try:
            digest = self.file_digest(real)
        except OSError as err:
            return _Classified("unpinned", f"module {name}: cannot read {real}: {err}")
        return _Classified("module", name, rel.replace(os.sep, "/"), digest, path=real)

    def describe(
        self,
        modules: Mapping[str, Any] | None,
        *,
        opened: Iterable[str] = (),
        root: str | None = None,
        host: Mapping[str, Any] | None = None,
    ) -> ReplayDeps:
        """What a replay depended on.

        Args:
            modules: The sandbox's ``sys.modules`` for the run: every module its importer
                saw. None for an unsandboxed run: then the project modules reachable by
                import statements from ``root`` count, and every installed distribution
                loaded in this process.
            opened: Files opened while the workflow code ran.
            root: The workflow class's module (unsandboxed runs).
            host: This process's ``sys.modules`` (default: the real one).
        """
        host = sys.modules if host is None else host
        found: dict[str, _Classified] = {}
        if modules is not None:
            queue = list(modules.items())
        else:
            if root is None or root not in host:
                return ReplayDeps(unpinned="the replayed workflow's module is not known")
            queue = [(root, host[root])]
            for name, module in list(host.items()):
                got = self.classify(name, module)
                if got.kind == "dist":
                    found[name] = got
        while queue:
            name, module = queue.pop()
            if name in found:
                continue
            got = self.classify(name, module)
            found[name] = got
            if got.kind == "unpinned":
                return ReplayDeps(unpinned=got.a)
            if got.kind == "module" and host.get(name) is module:
                # Loaded by the host (passed through into the sandbox, or an unsandboxed
                # run): its own imports ran where no importer recorded them. Follow its
                # import statements (those inside functions too).
                for dep in self._static_imports(got.path, name, module):
                    dep_module = host.get(dep)
                    if dep_module is not None and dep not in found:
                        queue.append((dep, dep_module))
        reason = self._data_file(opened)
        if reason is not None:
            return ReplayDeps(unpinned=reason)
        for name, got in found.items():
            if got.kind == "module" and name in _HOST_READS:
                read = self._data_file(_HOST_READS[name], what=f"module {name}", when="imported")
                if read is not None:
                    return ReplayDeps(unpinned=read)
        mods = sorted((c.a, c.b, c.c) for c in found.values() if c.kind == "module")
        dists = sorted({(c.a, c.b) for c in found.values() if c.kind == "dist"})
        return ReplayDeps(modules=tuple(mods), distributions=tuple(dists))

    def _static_imports(self, path: str, name: str, module: Any) -> tuple[str, ...]:
        key = f"{path}\0{self.file_digest(path)}"
        got = self._static.get(key)
        if got is None:
            package = (
                name if getattr(module, "__path__", None) is not None else name.rpartition(".")[0]
            )
            got = self._static[key] = _imports_of(path, package)
        return got

    @staticmethod
    def _data_file(
        opened: Iterable[str], *, what: str = "the workflow code", when: str = "replayed"
    ) -> str | None:
        for path in sorted(opened):
            if path.endswith(_CODE_SUFFIXES) or path in _CHECK_INPUTS or os.path.isdir(path):
                continue
            real = os.path.realpath(path)
            if real.startswith(_install_dirs()) or any(p in real for p in INSTALLED_PARTS):
                continue
            shown = os.path.relpath(real) if not os.path.relpath(real).startswith("..") else real
            if not os.path.exists(real):
                # Trying a file that is not there depends on it too: it may appear.
                return (
                    f"{what} tried to open {shown} when it {when}: whether that file exists "
                    "changes what the code does, and cannot be pinned down"
                )
            return (
                f"{what} read {shown} when it {when}: a data file the verdict depends on "
                "cannot be pinned down"
            )
        return None


def _normalize(name: str) -> str:
    """A distribution or dist-info folder name, comparable (PEP 503, version dropped)."""
    stem = name.removesuffix(".dist-info").split("-", 1)[0]
    return stem.lower().replace("_", "-").replace(".", "-")


def _imports_of(path: str, package: str) -> tuple[str, ...]:
    """Every module an import statement anywhere in the file may name (functions included)."""
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return ()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if not base:
                continue
            parts = base.split(".")
            out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return tuple(sorted(out))


# ---------------------------------------------------------------------------------------
# The key's other parts


@functools.lru_cache(maxsize=1)
def _replaykit_code() -> str:
    """replaykit's version and own source: a development checkout changes without a bump."""
    from importlib import metadata

    root = Path(__file__).resolve().parent.parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"?")
    try:
        version = metadata.version("replaykit")
    except metadata.PackageNotFoundError:
        version = "?"
    return f"{version}+{h.hexdigest()[:12]}"


def environment() -> dict[str, str]:
    """The Python, replaykit and temporalio versions a verdict was reached with."""
    from importlib import metadata

    try:
        temporalio_version = metadata.version("temporalio")
    except metadata.PackageNotFoundError:
        temporalio_version = "?"
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "replaykit": _replaykit_code(),
        "temporalio": temporalio_version,
    }


def judgment(options: CheckOptions, *, workflow_id: str | None) -> dict[str, Any] | str:
    """Every option that changes a verdict, as JSON; a string says why there is none."""
    plugins: list[str] = []
    for plugin in options.plugins:
        if not isinstance(plugin, str):
            return (
                "a plugin given as an object cannot be keyed (name it as module:attr to "
                "use the verdict cache)"
            )
        plugins.append(plugin)
    if "budget" in options.fail_on:
        return (
            "--fail-on budget measures continue-as-new chains together, across histories; "
            "verdicts are not reused"
        )
    return {
        "strict": options.strict,
        "fail_on": sorted(options.fail_on),
        "allow": list(options.allow),
        "volatile": list(options.volatile),
        "plugins": plugins,
        "data_converter": options.data_converter,
        "deployment_version": options.deployment_version,
        "include_pinned": options.include_pinned,
        "budget": dataclasses.asdict(options.budget),
        "sandbox": options.sandbox,
        "workflow_id": workflow_id,
    }


def _judge_code(options: CheckOptions, tracker: DependencyTracker) -> ReplayDeps:
    """The modules the judgment itself runs: plugins and the data converter (host code)."""
    names = [ref.partition(":")[0] for ref in options.plugins if isinstance(ref, str)]
    if options.data_converter:
        names.append(options.data_converter.partition(":")[0])
    modules = {n: sys.modules[n] for n in names if n in sys.modules}
    if not modules:
        return ReplayDeps()
    # Passed as "the sandbox's" modules with the host's: their imports are followed.
    return tracker.describe(modules, host=sys.modules)


# ---------------------------------------------------------------------------------------
# The cache (parent side)


def _workflow_class(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _divergence(obj: Mapping[str, Any]) -> Divergence:
    fields = {f.name for f in dataclasses.fields(Divergence)}
    kw = {k: v for k, v in obj.items() if k in fields}
    kw["items"] = tuple(kw.get("items") or ())
    return Divergence(**kw)


def _changed(what: str, old: Any, new: Any) -> str:
    return f"{what} changed ({old!r} -> {new!r})"


class VerdictCache:
    """Looks stored passes up before a check replays, and stores new passes after.

    One instance per check run: each dependency is hashed at most once.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        options: CheckOptions,
        workflows: Sequence[type],
        workflow_id: str | None,
    ) -> None:
        """Open the cache in ``directory`` for a check with these options and workflows.

        Check :attr:`disabled` before use: a reason when these options cannot be keyed.
        """
        self.directory = Path(directory)
        self.tracker = DependencyTracker()
        judged = judgment(options, workflow_id=workflow_id)
        self.disabled: str | None = judged if isinstance(judged, str) else None
        self.judgment: dict[str, Any] = {} if isinstance(judged, str) else judged
        if self.disabled is None:
            code = _judge_code(options, self.tracker)
            if code.unpinned:
                self.disabled = f"plugins or data converter: {code.unpinned}"
            self.judgment["judge_code"] = code.to_json()
        self.env = environment()
        self.classes = {
            _type_name(cls): _workflow_class(cls) for cls in workflows if _type_name(cls)
        }
        self.digests: dict[str, str] = {}
        self._modules: dict[str, str | None] = {}
        self._dists: dict[str, str | None] = {}
        self.reused = 0
        self.stored = 0
        #: Reused histories whose budget (a finding, a loop, a continue-as-new chain) is
        #: measured again: it is reported, and chains are measured together.
        self.remeasure: set[str] = set()

    # -- layout

    def _entry(self, digest: str) -> Path:
        return self.directory / digest[:2] / f"{digest}.json"

    def _index(self, path: str) -> Path:
        try:
            rel = os.path.relpath(path)
        except ValueError:  # another drive (Windows)
            rel = path
        name = _digest(rel.replace(os.sep, "/").encode())
        return self.directory / "paths" / name[:2] / f"{name}.json"

    # -- lookup

    def lookup(self, path: Path) -> HistoryResult | str:
        """The reused result for the history at ``path``, or why it must replay."""
        key = str(path)
        try:
            digest = _digest(path.read_bytes())
        except OSError as err:
            return f"cannot read the history: {err.strerror or err}"
        self.digests[key] = digest
        entry = _read_json(self._entry(digest))
        variants = (
            entry.get("variants", []) if entry and entry.get("format") == ENTRY_FORMAT else []
        )
        if not variants:
            previous = _read_json(self._index(key))
            if previous is not None and previous.get("history") not in (None, digest):
                return "history changed"
            return "no stored pass (first check, or it did not pass or was not stored last time)"
        best: tuple[int, str] | None = None
        stored: Mapping[str, Any] | None = None
        for variant in variants:
            stale = self._stale(variant, path)
            if stale is None:
                stored = variant["result"]
                break
            if best is None or stale[0] > best[0]:
                best = stale  # the reason of the closest pass: same options, other code
        if stored is None:
            assert best is not None
            return best[1]
        if stored.get("remeasure"):
            self.remeasure.add(key)
        self.reused += 1
        return HistoryResult(
            path=key,
            workflow_id=stored.get("workflow_id"),
            workflow_type=stored.get("workflow_type"),
            status="clean",
            divergences=tuple(_divergence(d) for d in stored.get("divergences", ())),
            events=int(stored.get("events", 0)),
            allowed=tuple(_divergence(d) for d in stored.get("allowed", ())),
            closed=stored.get("closed"),
            reused=True,
        )

    def _stale(self, entry: Mapping[str, Any], path: Path) -> tuple[int, str] | None:
        """Which part of a stored pass's key changed (None: nothing), ranked: 0 the
        environment or an option, 1 the code or the workflow id."""
        env = entry.get("env", {})
        for name, now in self.env.items():
            if env.get(name) != now:
                return 0, _changed(f"{name} version", env.get(name), now)
        judged = entry.get("judgment", {})
        for name, now in self.judgment.items():
            if judged.get(name) != now:
                if name == "judge_code":
                    return 0, "the plugins' or data converter's code changed"
                return 0, _changed(f"option {name}", judged.get(name), now)
        stored = entry.get("result", {})
        wtype = stored.get("workflow_type")
        if self.classes.get(wtype) != entry.get("workflow_class"):
            return 1, _changed(
                f"workflow type {wtype}'s class",
                entry.get("workflow_class"),
                self.classes.get(wtype),
            )
        if stored.get("id_from_name") and stored.get("workflow_id") != path.stem:
            # A plain export's workflow id is its file name, which replay depends on.
            return 1, _changed(
                "workflow id (from the file name)", stored.get("workflow_id"), path.stem
            )
        deps = entry.get("deps", {})
        for name, version in deps.get("distributions", ()):
            installed = self._dist_version(name)
            if installed != version:
                return 1, _changed(f"distribution {name}", version, installed)
        for name, rel, digest in deps.get("modules", ()):
            current = self._module_digest(rel)
            if current is None:
                return 1, f"module {name} is gone ({rel} is on no sys.path root)"
            if current != digest:
                return 1, f"module {name} changed ({rel})"
        return None

    def _dist_version(self, name: str) -> str | None:
        if name not in self._dists:
            from importlib import metadata

            try:
                self._dists[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                self._dists[name] = None
        return self._dists[name]

    def _module_digest(self, rel: str) -> str | None:
        """The digest of the file an import would find at ``rel`` below a sys.path root."""
        if rel not in self._modules:
            found: str | None = None
            for root in sys.path:
                candidate = os.path.join(root or os.getcwd(), *rel.split("/"))
                if os.path.isfile(candidate):
                    try:
                        found = self.tracker.file_digest(os.path.realpath(candidate))
                    except OSError:
                        found = None
                    break
            self._modules[rel] = found
        return self._modules[rel]

    # -- store

    def store(self, result: HistoryResult) -> str | None:
        """Store a pass; returns why it was not stored (None: stored, or not a pass)."""
        if result.status != "clean" or result.path is None or result.reused:
            return None
        deps = result.dependencies
        if deps is None:
            return "the replay did not report what it depended on"
        if deps.unpinned is not None:
            return deps.unpinned
        digest = self.digests.get(result.path)
        if digest is None:
            return "the history was not read from a file"
        wclass = self.classes.get(result.workflow_type or "")
        if wclass is None:
            return f"workflow type {result.workflow_type} is not registered by name"
        for name, _rel, recorded in deps.modules:
            # A module edited while the check ran: the replay may have seen either version.
            if self._module_digest(_rel) != recorded:
                return f"module {name} changed while the check ran"
        variant = {
            "env": self.env,
            "judgment": self.judgment,
            "workflow_class": wclass,
            "deps": deps.to_json(),
            "result": {
                "workflow_id": result.workflow_id,
                "workflow_type": result.workflow_type,
                "events": result.events,
                "closed": result.closed,
                "divergences": [d.to_json() for d in result.divergences],
                "allowed": [d.to_json() for d in result.allowed],
                "remeasure": _needs_budget(result),
                "id_from_name": result.workflow_id == Path(result.path).stem,
            },
        }
        path = self._entry(digest)
        old = _read_json(path)
        kept = [
            v
            for v in (old.get("variants", []) if old and old.get("format") == ENTRY_FORMAT else [])
            if (v.get("env"), v.get("judgment")) != (self.env, self.judgment)
        ]
        entry = {
            "format": ENTRY_FORMAT,
            "history": digest,
            "variants": [variant, *kept][:MAX_VARIANTS],
        }
        if not _write_json(path, entry):
            return f"cannot write to the verdict cache {self.directory}"
        _write_json(self._index(result.path), {"history": digest})
        self.stored += 1
        return None


def _needs_budget(result: HistoryResult) -> bool:
    budget = result.budget
    if budget is None:
        return False
    chained = budget.continues_as_new or bool(budget.run_ids and budget.run_ids[1])
    return budget.flagged or bool(budget.loops) or chained or budget.chain_runs > 1


def _type_name(cls: type) -> str:
    import temporalio.workflow

    defn = temporalio.workflow._Definition.from_class(cls)
    return (defn.name if defn is not None else None) or cls.__name__


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, obj: Any) -> bool:
    """Atomically (temp file + rename); False when the folder is not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(obj, sort_keys=True, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return False
    return True
