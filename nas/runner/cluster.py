"""Where a search's trials run: a local Ray started for the search, or a running cluster joined with `address`.

Two traps make a join hang or fail late, so they are handled before Ray is imported (Ray is imported inside the
functions that need it):
- Ray waits minutes for a head that is not there; a plain TCP connection to the address says so in seconds.
- Ray 2.60 turns on token authentication for clusters it starts (`ray start --head`, `ray.init()`), and a driver
  joins one only with `RAY_AUTH_MODE=token` and the cluster's token, read when Ray is imported. So when the mode
  is not set and this machine has a token (`RAY_AUTH_TOKEN`, the file `RAY_AUTH_TOKEN_PATH` names, or Ray's
  default `~/.ray/auth_token`), the driver uses token mode; it joins clusters without authentication just as well.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Callable

from nas.errors import ClusterError, SettingError

logger = logging.getLogger(__name__)

AUTH_MODE = "RAY_AUTH_MODE"
DEFAULT_TOKEN_FILE = Path.home() / ".ray" / "auth_token"
REACH_TIMEOUT_S = 5.0
HINT = ("if the cluster uses token authentication, set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or "
        "RAY_AUTH_TOKEN_PATH) to the token that `ray get-auth-token` prints on its head node")
# Ray keeps unix sockets under its temp folder; their paths must stay under the OS limit of 107 bytes. Ray adds up
# to 64: "/session_2026-11-30_02-31-13_030835_<pid of up to 7 digits>/sockets/plasma_store".
_LONGEST_RAY_TEMP_DIR = 107 - 64
_SYSTEM_TEMP_PREFIX = "nas-ray-"
_local_sessions: list[Path | None] = []  # the session folder of the local Ray this process started


def prepare_to_join(address: str) -> None:
    """Refuse an address no Ray head answers at, and choose token authentication when a token is at hand."""
    if address != "auto":
        host, port = parse_address(address)
        check_reachable(host, port)
    if AUTH_MODE not in os.environ and token_available():
        os.environ[AUTH_MODE] = "token"


def parse_address(address: str) -> tuple[str, int]:
    """HOST:PORT of a Ray head's GCS, as `ray start --head` prints it."""
    if address.startswith("ray://"):
        raise SettingError("address", f"Ray Client addresses (ray://) are not supported, received {address}; "
                                      "expected the head's HOST:PORT (default port 6379), or run on the cluster with "
                                      "`ray job submit`")
    host, separator, port = address.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingError("address", f"expected HOST:PORT of a Ray head (e.g. 10.0.0.5:6379), or auto, received "
                                      f"{address!r}")
    return host.strip("[]"), int(port)


def check_reachable(host: str, port: int, timeout: float = REACH_TIMEOUT_S) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        reason = f"no answer within {timeout:g}s" if isinstance(error, TimeoutError) else (
            error.strerror or type(error).__name__)
        raise ClusterError(f"Cannot reach a Ray cluster at {host}:{port} ({reason}). Expected a running Ray head "
                           "there: start one with `ray start --head`, or check the address and firewall") from None
    if not os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        check_speaks_grpc(host, port, timeout)


def check_speaks_grpc(host: str, port: int, timeout: float = REACH_TIMEOUT_S) -> None:
    """A Ray head's GCS is a gRPC server: something else listening at the port (ray.init would wait on it for
    minutes) is refused once a gRPC channel to it has not become ready within `timeout`. grpcio (Ray's own
    dependency) does the HTTP/2 handshake."""
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise ClusterError(f"Something listens at {host}:{port}, but it is not a Ray head (no gRPC answer within "
                           f"{timeout:g}s). Expected the address `ray start --head` printed (port 6379 by "
                           f"default), not the dashboard's or another program's") from None
    finally:
        channel.close()


def token_available() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    token_file = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(token_file).is_file() if token_file else DEFAULT_TOKEN_FILE.is_file()


# The trial workers' memory allocator is jemalloc, which Ray bundles (ray/core/libjemalloc.so) and preloads into its
# own raylet. With glibc's malloc, a worker that trained model after model kept growing, 28-40 MB per 100 trials,
# most of it freed heap that glibc kept; with jemalloc it stays flat (benchmarks/memory_growth.py, the README's
# "Memory"). The raylet passes its preload on to the workers it starts when PRELOAD_ON_WORKERS=1 is in its
# environment: set here for a local Ray, and in the README's `ray start` lines for a cluster. The settings return
# freed pages to the system within a second from a background thread; glibc's malloc ignores them.
PRELOAD_ON_WORKERS = "RAY_LD_PRELOAD_ON_WORKERS"
WORKER_ALLOCATOR_SETTINGS = {"MALLOC_CONF": "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"}

# Ray's memory monitor kills the newest worker of its node when the node's memory is 95% used, whoever used it (a
# search's workers once died for another program's leak), and Ray 2.60's Tune then ends the whole experiment
# ("Caught unexpected exception"). nas holds each trial to its own limit instead (nas/runner/memory_guard.py, and
# workers are the kernel's first choice), so the Ray it starts runs without that monitor. Read by the raylet; a
# value already in the environment is kept (a test turns the monitor on to see its kill recorded).
MEMORY_MONITOR = "RAY_memory_monitor_refresh_ms"


# Where Ray's own log records go (Tune's traceback of each failed trial among them): nas says in one line what
# happened to each trial, and the terminal gets nothing else.
RAY_LOG = "ray.log"


def ray_messages_to_file(path: Path) -> None:
    """Send the records of Ray's loggers to `path` instead of the terminal (Ray gives its "ray" logger a handler
    of its own on stderr when it is imported)."""
    ray_logger = logging.getLogger("ray")
    for handler in list(ray_logger.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            ray_logger.removeHandler(handler)
    if not any(isinstance(handler, logging.FileHandler) and handler.baseFilename == str(path.resolve())
               for handler in ray_logger.handlers):
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, delay=True)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        ray_logger.addHandler(file_handler)
    ray_logger.propagate = False


class _DropTokenNotice(logging.Filter):
    """Ray 2.60 warns on every local start that token authentication is on; for a Ray we start, that is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Token authentication is enabled" not in record.getMessage()


def start_ray(address: str | None, output: Path, user_modules: list[ModuleType]) -> bool:
    """Join `address` or start a local Ray for this run; returns whether we started it (and must stop it).
    `user_modules` (the user's space, data or training code) are sent to the workers with nas's own packages."""
    import ray

    if ray.is_initialized():
        return False
    logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(_DropTokenNotice())
    # Tune's warnings (e.g. about trials the time budget cut before they wrote results) are about its own
    # bookkeeping; ours say what happened to each trial.
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    ray_messages_to_file(output / RAY_LOG)
    quiet = dict(logging_level=logging.WARNING, log_to_driver=False)
    code, allocator = _code_for_the_workers(user_modules), {"env_vars": dict(WORKER_ALLOCATOR_SETTINGS)}
    runtime_env = {**code, **allocator}
    if address:
        # While Ray connects, its C++ client logs a line a second to the process's stderr for as long as the
        # cluster refuses it; those lines are held back, and shown only if the join succeeds after all.
        with _stderr_held_back() as held_back:
            try:
                ray.init(address=address, runtime_env=runtime_env, **quiet)
            except ConnectionError as error:  # Ray's own, after about 20 s: no head there, or a token it refused
                reason = str(error).splitlines()[0].rstrip(".")
                refused = " (it refused this machine's token)" if "InvalidAuthToken" in held_back() else ""
                raise ClusterError(f"Cannot join the Ray cluster at {address}{refused}: {reason}. Expected a "
                                   f"running cluster that accepts this machine; {HINT}") from None
        return True
    os.environ.setdefault(PRELOAD_ON_WORKERS, "1")  # read by the raylet this starts
    os.environ.setdefault(MEMORY_MONITOR, "0")
    ray.init(_temp_dir=ray_temp_dir(output), include_dashboard=False,
             runtime_env=runtime_env if user_modules else allocator, **quiet)
    _local_sessions.append(_session_dir())
    return True


class LocalRayWatch:
    """Watches the core processes of the local Ray this search started (its GCS and raylet). When one ends under
    the search (killed, or out of memory), Ray's client in this process waits about 60 s for it and then aborts the
    process without a word; instead, `on_lost(name)` runs at once, from a daemon thread, then the rest of the local
    Ray is ended and this process exits with code 1 (EXIT_FAILED). psutil finds and watches the processes."""

    CORE = ("gcs_server", "raylet")

    def __init__(self, on_lost: Callable[[str], None], interval_s: float = 1.0):
        import psutil

        self.on_lost, self.interval_s = on_lost, interval_s
        self.processes = [child for child in psutil.Process().children() if child.name() in self.CORE]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="nas-ray-watch", daemon=True)

    def start(self) -> LocalRayWatch:
        if self.processes:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            gone = next((process for process in self.processes if _ended(process)), None)
            if gone is None or self._stop.is_set():
                continue
            try:
                self.on_lost(gone.name())
            finally:
                for child in _children():  # what is left of the local Ray, so nothing lingers
                    _kill(child)
                os._exit(1)


def _ended(process) -> bool:
    import psutil

    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE  # killed, not reaped yet
    except psutil.Error:
        return True


def _kill(process) -> None:
    import psutil

    try:
        process.kill()
    except psutil.Error:  # ended meanwhile
        pass


def _children() -> list:
    import psutil

    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def stop_ray() -> None:
    """Stop the Ray this process started, and remove the session files it leaves (logs, sockets, spilled objects:
    hundreds of files a run); the store already holds each trial's outcome and error."""
    import ray

    session = _local_sessions.pop() if _local_sessions else None  # a joined cluster's files are not ours
    ray.shutdown()
    if session is None:
        return
    shutil.rmtree(session, ignore_errors=True)
    temp_dir = session.parent
    latest = temp_dir / "session_latest"
    if latest.is_symlink() and not latest.exists():
        latest.unlink(missing_ok=True)
    if temp_dir.name.startswith(_SYSTEM_TEMP_PREFIX) and not any(temp_dir.iterdir()):
        temp_dir.rmdir()  # the system temp folder ray_temp_dir chose for a long output path


def _session_dir() -> Path | None:
    try:
        from ray._private import worker  # the running local node's session folder; Ray has no public call for it

        return Path(worker._global_node.get_session_dir_path())
    except Exception:  # noqa: BLE001 - no local node (a joined cluster), or Ray moved it: leave the files
        return None


@contextlib.contextmanager
def _stderr_held_back():
    """Send what is written to file descriptor 2 (C++ logs included) to a temporary file; yields a function that
    reads it. When the block ends without an error, the held-back text is written to stderr after all."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)

        def read() -> str:
            held.seek(0)
            return held.read().decode(errors="replace")

        try:
            yield read
        except BaseException:
            raise
        else:
            text = read()
            if text:
                os.write(saved, text.encode())
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _code_for_the_workers(user_modules: list[ModuleType]) -> dict:
    """Ray's runtime environment ships this driver's nas packages to a cluster's workers (Ray's `py_modules`), so
    nodes need only TensorFlow and Ray installed, and always run the driver's version of nas; the user's own
    space, data and training modules go with them. The bundled data sets stay behind: data travels through the
    object store."""
    import results
    import search_spaces
    import strategies

    # The whole nas package, which Python imported before this module (its parent) and which is not imported here:
    # the runner imports no room above it.
    modules = [sys.modules["nas"], search_spaces, strategies, results]
    modules += [module for module in user_modules if module not in modules]
    return {"py_modules": modules, "excludes": ["*.npz", "nas-runs", ".venv", "__pycache__"]}


def check_resources(cpus: float, gpus: float, joined: bool, resource_wait: float) -> None:
    """Make sure a trial fits on some node, or Tune would wait for one forever.

    A Ray we started cannot grow: a trial bigger than its largest node is refused at once. A cluster we joined may
    autoscale (a `ray up` cluster with `min_workers: 0` has no GPU until asked), so it is asked, through Ray's
    autoscaler SDK, for a node the trial fits on, and given `resource_wait` seconds to add one.
    """
    trial = {"CPU": cpus, "GPU": gpus}
    if _fits_on_a_node(trial):
        return
    if joined and resource_wait > 0:
        from ray.autoscaler.sdk import request_resources

        request_resources(bundles=[{name: amount for name, amount in trial.items() if amount > 0}])
        logger.warning("No node of the Ray cluster has %s for a trial; waiting up to %ds for the autoscaler to add "
                       "one.", _describe(trial), resource_wait)
        deadline = time.monotonic() + resource_wait
        while time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            if _fits_on_a_node(trial):
                return
    largest = _largest_nodes()
    waited = f" after waiting {resource_wait:g}s" if joined and resource_wait > 0 else ""
    raise ClusterError(f"No node of this Ray cluster has {_describe(trial)} for a trial{waited} (the largest have "
                       f"{largest}). Expected cpus_per_trial and gpus_per_trial that fit one node; ask for less, or "
                       "join a bigger cluster with address")


def alive_nodes() -> list[dict[str, float]]:
    import ray

    return [node["Resources"] for node in ray.nodes() if node["Alive"]]


def _fits_on_a_node(trial: dict[str, float]) -> bool:
    return any(all(node.get(name, 0.0) >= amount for name, amount in trial.items()) for node in alive_nodes())


def _largest_nodes() -> str:
    nodes = alive_nodes()
    return _describe({name: max((node.get(name, 0.0) for node in nodes), default=0.0) for name in ("CPU", "GPU")})


def _describe(resources: dict[str, float]) -> str:
    return " and ".join(f"{amount:g} {name}{'s' if amount != 1 else ''}" for name, amount in resources.items())


def ray_temp_dir(output: Path) -> str:
    """Ray's session files go under the output folder, unless that path is too long for Ray's unix sockets."""
    preferred = output / "ray-tmp"
    if len(str(preferred)) <= _LONGEST_RAY_TEMP_DIR:
        preferred.mkdir(parents=True, exist_ok=True)
        return str(preferred)
    logger.info("Output path too long for Ray's sockets; Ray's session files go to the system temp folder.")
    return tempfile.mkdtemp(prefix=_SYSTEM_TEMP_PREFIX)
