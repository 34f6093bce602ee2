"""Joining an existing Ray cluster (`--address`): what must happen before Ray is imported.

Two traps make a join hang or fail late, so they are handled here, without importing Ray:
- Ray waits minutes for a head that is not there; a plain TCP connection to the address says so in seconds.
- Ray 2.60 turns on token authentication for clusters it starts (`ray start --head`, `ray.init()`), and a driver
  joins one only with `RAY_AUTH_MODE=token` and the cluster's token, read when Ray is imported. So when the mode
  is not set and this machine has a token (`RAY_AUTH_TOKEN`, the file `RAY_AUTH_TOKEN_PATH` names, or Ray's
  default `~/.ray/auth_token`), the driver uses token mode; it joins clusters without authentication just as well.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

from nas.cli_common import UsageError

AUTH_MODE = "RAY_AUTH_MODE"
TOKEN_VARIABLES = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
DEFAULT_TOKEN_FILE = Path.home() / ".ray" / "auth_token"
REACH_TIMEOUT_S = 5.0
HINT = ("if the cluster uses token authentication, set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or "
        "RAY_AUTH_TOKEN_PATH) to the token that `ray get-auth-token` prints on its head node")


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
        raise UsageError(f"--address {address}: Ray Client addresses (ray://) are not supported. Expected the "
                         "head's HOST:PORT (default port 6379), or run on the cluster with `ray job submit`")
    host, separator, port = address.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--address {address!r}: expected HOST:PORT of a Ray head (e.g. 10.0.0.5:6379), or auto")
    return host.strip("[]"), int(port)


def check_reachable(host: str, port: int, timeout: float = REACH_TIMEOUT_S) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        reason = f"no answer within {timeout:g}s" if isinstance(error, TimeoutError) else (
            error.strerror or type(error).__name__)
        raise UsageError(f"Cannot reach a Ray cluster at {host}:{port} ({reason}). Expected a running Ray head "
                         "there: start one with `ray start --head`, or check the address and firewall") from None


def token_available() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    token_file = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(token_file).is_file() if token_file else DEFAULT_TOKEN_FILE.is_file()
