"""What counts as a hazard: fully qualified names and the rule each one breaks.

Names are matched after import aliases are resolved, so ``import datetime as dt;
dt.datetime.now()`` and ``from time import time as now; now()`` both become the qualified
names below. A prefix ending in ``.`` matches a whole module (``"subprocess."``); any other
prefix matches by string (``"os.spawn"`` matches ``os.spawnl``).
"""

from __future__ import annotations

# Calls matched by exact qualified name: name -> (rule id, what to use instead).
CALL_EXACT: dict[str, tuple[str, str]] = {}

# Calls matched by prefix: (prefix, rule id, hint).  Checked in order, first match wins.
CALL_PREFIX: list[tuple[str, str, str]] = []

# Calls that read the clock only when given at most N positional arguments (the time
# argument defaults to "now"): name -> (rule id, hint, N).
CALL_NOW_WITHOUT_ARGS: dict[str, tuple[str, str, int]] = {}

# Any reference (not only a call), matched by prefix: os.environ["X"], os.environ.get("X").
REFERENCE_PREFIX: list[tuple[str, str, str]] = []

_CLOCK = "use workflow.now() / workflow.time()"
for _name in (
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.monotonic_ns",
    "time.perf_counter",
    "time.perf_counter_ns",
    "time.process_time",
    "time.process_time_ns",
    "time.thread_time",
    "time.thread_time_ns",
    "time.clock_gettime",
    "time.clock_gettime_ns",
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "pendulum.now",
    "pendulum.today",
    "arrow.now",
    "arrow.utcnow",
):
    CALL_EXACT[_name] = ("RK101", _CLOCK)
for _name in ("time.localtime", "time.gmtime", "time.ctime", "time.asctime"):
    CALL_NOW_WITHOUT_ARGS[_name] = ("RK101", _CLOCK, 0)
CALL_NOW_WITHOUT_ARGS["time.strftime"] = ("RK101", _CLOCK, 1)

_RANDOM = "use workflow.random()"
CALL_EXACT["os.urandom"] = ("RK102", _RANDOM)
CALL_EXACT["os.getrandom"] = ("RK102", _RANDOM)
CALL_PREFIX += [
    ("random.", "RK102", _RANDOM),
    ("secrets.", "RK102", _RANDOM),
    ("numpy.random.", "RK102", _RANDOM),
]
# random.Random(seed) is deterministic; random.Random() seeds itself from the OS.
RANDOM_CLASS = "random.Random"

for _name in ("uuid.uuid1", "uuid.uuid4", "uuid.uuid6", "uuid.uuid7", "uuid.getnode"):
    CALL_EXACT[_name] = ("RK103", "use workflow.uuid4()")

_ENV = "pass configuration as workflow input or read it in an activity"
for _name in ("os.getenv", "os.getenvb", "os.putenv", "os.unsetenv"):
    CALL_EXACT[_name] = ("RK104", _ENV)
REFERENCE_PREFIX += [("os.environ", "RK104", _ENV)]  # also covers os.environb

_FILE = "do file I/O in an activity"
for _name in (
    "builtins.open",
    "builtins.input",
    "io.open",
    "io.open_code",
    "os.open",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.renames",
    "os.replace",
    "os.mkdir",
    "os.makedirs",
    "os.rmdir",
    "os.removedirs",
    "os.listdir",
    "os.scandir",
    "os.walk",
    "os.fwalk",
    "os.stat",
    "os.lstat",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.getcwd",
    "os.chdir",
    "os.path.exists",
    "os.path.lexists",
    "os.path.isfile",
    "os.path.isdir",
    "os.path.islink",
    "os.path.getsize",
    "os.path.getmtime",
    "os.path.getatime",
    "os.path.getctime",
    "os.path.realpath",
    "os.path.abspath",
    "pathlib.Path.cwd",
    "pathlib.Path.home",
):
    CALL_EXACT[_name] = ("RK201", _FILE)
CALL_PREFIX += [
    (module, "RK201", _FILE)
    for module in ("shutil.", "tempfile.", "glob.", "sqlite3.", "fileinput.", "shelve.", "dbm.")
]

# Methods of pathlib.Path objects that touch the file system.
PATH_IO_METHODS = frozenset(
    {
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "open",
        "touch",
        "unlink",
        "mkdir",
        "rmdir",
        "rename",
        "replace",
        "exists",
        "is_file",
        "is_dir",
        "is_symlink",
        "iterdir",
        "glob",
        "rglob",
        "walk",
        "stat",
        "lstat",
        "chmod",
        "symlink_to",
        "hardlink_to",
        "readlink",
        "samefile",
        "owner",
        "group",
    }
)
PATH_CLASSES = frozenset(
    {
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
    }
)
PATH_RETURNING_METHODS = frozenset(
    {"with_suffix", "with_name", "with_stem", "joinpath", "resolve", "absolute", "expanduser"}
)

_PROC = "run processes in an activity"
for _name in (
    "os.system",
    "os.popen",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.startfile",
    "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell",
):
    CALL_EXACT[_name] = ("RK202", _PROC)
CALL_PREFIX += [
    ("subprocess.", "RK202", _PROC),
    ("os.spawn", "RK202", _PROC),
    ("os.exec", "RK202", _PROC),
    ("os.posix_spawn", "RK202", _PROC),
]

_NET = "do network I/O in an activity"
for _name in (
    "asyncio.open_connection",
    "asyncio.open_unix_connection",
    "asyncio.start_server",
    "asyncio.start_unix_server",
):
    CALL_EXACT[_name] = ("RK203", _NET)
CALL_PREFIX += [
    (module, "RK203", _NET)
    for module in (
        "socket.",
        "urllib.request.",
        "http.client.",
        "ftplib.",
        "smtplib.",
        "poplib.",
        "imaplib.",
        "telnetlib.",
    )
]

_CLIENT = "call the client from an activity"
CLIENT_MODULES = (
    "requests.",
    "httpx.",
    "aiohttp.",
    "urllib3.",
    "openai.",
    "anthropic.",
    "litellm.",
    "cohere.",
    "mistralai.",
    "groq.",
    "google.genai.",
    "google.generativeai.",
)
CALL_PREFIX += [(module, "RK204", _CLIENT) for module in CLIENT_MODULES]

_THREAD = "use asyncio tasks in the workflow or move the work to an activity"
CALL_EXACT["asyncio.to_thread"] = ("RK301", _THREAD)
CALL_EXACT["asyncio.run_coroutine_threadsafe"] = ("RK301", _THREAD)
CALL_PREFIX += [
    (module, "RK301", _THREAD)
    for module in ("threading.", "concurrent.futures.", "multiprocessing.", "_thread.")
]
THREAD_METHODS = frozenset({"run_in_executor"})

CALL_EXACT["time.sleep"] = ("RK302", "use await workflow.sleep(...)")

ASYNCIO_SLEEP = "asyncio.sleep"
TIMEDELTA = "datetime.timedelta"

# Exception classes of these modules are harmless to construct (raise/except in workflow code).
HARMLESS_SUFFIXES = ("Error", "Exception", "Warning")

SET_BUILTINS = frozenset({"builtins.set", "builtins.frozenset"})
SET_ANNOTATIONS = frozenset(
    {
        "builtins.set",
        "builtins.frozenset",
        "typing.Set",
        "typing.FrozenSet",
        "typing.AbstractSet",
        "typing.MutableSet",
        "collections.abc.Set",
        "collections.abc.MutableSet",
    }
)
SET_RETURNING_METHODS = frozenset(
    {"union", "intersection", "difference", "symmetric_difference", "copy"}
)
# Calls that consume their argument in iteration order (sorted(...) is the fix, not listed).
ORDER_CONSUMERS = frozenset(
    {"builtins.list", "builtins.tuple", "builtins.enumerate", "builtins.iter", "builtins.zip"}
)
OPTIONAL_WRAPPERS = frozenset({"typing.Optional", "typing.Union", "typing.Annotated"})

MUTABLE_FACTORIES = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "builtins.bytearray",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
        "collections.deque",
        "collections.ChainMap",
    }
)
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "update",
        "add",
        "discard",
        "setdefault",
        "popitem",
        "sort",
        "reverse",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "appendleft",
        "extendleft",
        "popleft",
        "rotate",
        "__setitem__",
        "__delitem__",
    }
)

WORKFLOW_DEFN = "temporalio.workflow.defn"
ACTIVITY_DEFN = "temporalio.activity.defn"
# The functions that schedule an activity and therefore need a close timeout.
ACTIVITY_STARTERS = frozenset(
    f"temporalio.workflow.{verb}_{kind}{suffix}"
    for verb in ("execute", "start")
    for kind in ("activity", "local_activity")
    for suffix in ("", "_method", "_class")
)
TIMEOUT_KEYWORDS = frozenset({"start_to_close_timeout", "schedule_to_close_timeout"})


def match_call(qualified: str, *, positional_args: int) -> tuple[str, str] | None:
    """The (rule id, hint) a call of ``qualified`` breaks, or None when it is harmless."""
    if qualified in CALL_EXACT:
        return CALL_EXACT[qualified]
    if qualified in CALL_NOW_WITHOUT_ARGS:
        rule, hint, most = CALL_NOW_WITHOUT_ARGS[qualified]
        return (rule, hint) if positional_args <= most else None
    if qualified == RANDOM_CLASS and positional_args > 0:
        return None
    if qualified.rsplit(".", 1)[-1].endswith(HARMLESS_SUFFIXES):
        return None
    for prefix, rule, hint in CALL_PREFIX:
        if qualified.startswith(prefix):
            return rule, hint
    return None


def match_reference(qualified: str) -> tuple[str, str] | None:
    """The (rule id, hint) that merely referencing ``qualified`` breaks, or None."""
    for prefix, rule, hint in REFERENCE_PREFIX:
        if qualified.startswith(prefix):
            return rule, hint
    return None


def client_rule(qualified: str) -> str | None:
    """The rule id when ``qualified`` constructs a network/HTTP/LLM client object."""
    match = match_call(qualified, positional_args=0)
    if match is not None and match[0] in ("RK203", "RK204"):
        return match[0]
    return None
