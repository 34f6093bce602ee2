"""The Ray cluster launcher configs in cluster/: Ray's own validation accepts them, and they hold what a search on
a cluster relies on (GPU workers that scale from zero, a spot option, this project installed on every node,
token authentication set alike on the head and the workers, and jemalloc in the trial workers). Offline: no cloud
credentials, boto3 or Google libraries needed."""
from __future__ import annotations

import copy
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.version import Version
from ray.autoscaler._private.util import prepare_config, validate_config

from nas.runner.cluster import PRELOAD_ON_WORKERS

ROOT = Path(__file__).resolve().parents[2]
CLOUDS = ["aws", "gcp"]
# NVIDIA GPU instance families on EC2 (g4ad is AMD, g5g is ARM: neither runs the CUDA wheels).
AWS_NVIDIA_FAMILIES = {"g4dn", "g5", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en"}
LAUNCHER_COMMAND_LISTS = ["initialization_commands", "setup_commands", "head_setup_commands",
                          "worker_setup_commands", "head_start_ray_commands", "worker_start_ray_commands"]


def load(cloud: str) -> dict:
    return yaml.safe_load((ROOT / "cluster" / f"{cloud}.yaml").read_text())


def prepared(cloud: str) -> dict:
    """The config as `ray up` sees it before asking the cloud: defaults filled in, setup_commands merged into the
    head's and the workers' lists, and every node type given its min and max workers."""
    return prepare_config(copy.deepcopy(load(cloud)))


def worker_types(config: dict) -> dict[str, dict]:
    return {name: node for name, node in config["available_node_types"].items() if name != config["head_node_type"]}


def is_gpu_node(cloud: str, node: dict) -> bool:
    node_config = node["node_config"]
    if cloud == "aws":
        return node_config["InstanceType"].split(".")[0] in AWS_NVIDIA_FAMILIES
    return any(accelerator["acceleratorType"].startswith("nvidia-") and accelerator["acceleratorCount"] >= 1
               for accelerator in node_config.get("guestAccelerators", []))


def is_spot(cloud: str, node: dict) -> bool:
    node_config = node["node_config"]
    if cloud == "aws":
        return node_config.get("InstanceMarketOptions", {}).get("MarketType") == "spot"
    scheduling = node_config.get("scheduling", {})
    return scheduling.get("provisioningModel") == "SPOT" or scheduling.get("preemptible") is True


def home(path: str) -> str:
    """One spelling for the remote home folder: `$HOME/x` and `~/x` are the same path on a node."""
    return re.sub(r"^(\$HOME|\$\{HOME\})(?=/|$)", "~", path)


def ray_start(commands: list[str]) -> tuple[dict[str, str], list[str]]:
    """The environment assignments in front of the `ray start` in these commands, and the command's arguments."""
    (segment,) = [segment for command in commands for segment in re.split(r";|&&", command) if "ray start" in segment]
    words = shlex.split(segment)
    at = words.index("ray")
    assert words[at + 1] == "start"
    env = dict(word.split("=", 1) for word in words[:at])
    return env, words[at + 2:]


def option(args: list[str], name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in args if arg.startswith(f"{name}=")]
    return value


def project_install(commands: list[str]) -> tuple[str, str, str]:
    """(the checkout installed, its extra, the Ray requirement) of the one command that installs this project."""
    (install,) = [command for command in commands if "pip install" in command and "/nas[" in command]
    words = shlex.split(install)
    editable = words[words.index("-e") + 1]
    checkout, extra = re.fullmatch(r"(.+)\[(\w+)\]", editable).groups()
    (ray,) = [word for word in words if word.startswith("ray[")]
    return home(checkout), extra, ray


@pytest.mark.parametrize("cloud", CLOUDS)
def test_ray_validates_the_config(cloud):
    config = prepared(cloud)
    validate_config(config)  # Ray's JSON schema (ray/autoscaler/ray-schema.json) plus its own consistency checks
    assert config["provider"]["type"] == cloud


@pytest.mark.parametrize("cloud", CLOUDS)
def test_workers_are_gpu_nodes_scaling_from_zero(cloud):
    config = prepared(cloud)
    workers = worker_types(config)
    assert workers
    for name, node in workers.items():
        assert node["min_workers"] == 0, name
        assert node["max_workers"] <= config["max_workers"], name
        assert is_gpu_node(cloud, node), name
        assert node["resources"].get("GPU", 0) >= 1, f"{name}: the autoscaler must know it has a GPU"
        if cloud == "gcp":
            node_config = node["node_config"]
            assert node["resources"]["GPU"] == sum(a["acceleratorCount"] for a in node_config["guestAccelerators"])
            # Compute Engine wants an object here (Ray's own GCP examples once had a list: ray-project/ray#46248).
            assert isinstance(node_config["scheduling"], dict), name
            assert node_config["scheduling"]["onHostMaintenance"] == "TERMINATE", name
    assert any(node["max_workers"] > 0 for node in workers.values()), "no worker type is usable as shipped"
    assert config["idle_timeout_minutes"] > 0


@pytest.mark.parametrize("cloud", CLOUDS)
def test_head_is_an_on_demand_cpu_node(cloud):
    config = prepared(cloud)
    head = config["available_node_types"][config["head_node_type"]]
    assert not is_gpu_node(cloud, head)
    assert not is_spot(cloud, head), "the head holds the driver and the result store: it must not be reclaimed"
    assert head["max_workers"] == 0


@pytest.mark.parametrize("cloud", CLOUDS)
def test_spot_workers_are_an_option_identical_but_for_the_market(cloud):
    workers = worker_types(load(cloud))
    spot = {name: node for name, node in workers.items() if is_spot(cloud, node)}
    on_demand = {name: node for name, node in workers.items() if not is_spot(cloud, node)}
    assert len(spot) == 1 and len(on_demand) == 1
    (spot_node,), (on_demand_node,) = spot.values(), on_demand.values()
    if cloud == "gcp":
        scheduling = spot_node["node_config"]["scheduling"]
        assert scheduling["onHostMaintenance"] == "TERMINATE" and scheduling["automaticRestart"] is False
    market_key = "InstanceMarketOptions" if cloud == "aws" else "scheduling"
    strip = lambda node: {k: v for k, v in node["node_config"].items() if k != market_key}  # noqa: E731
    assert strip(spot_node) == strip(on_demand_node)
    assert spot_node["resources"] == on_demand_node["resources"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_node_boots_the_same_image(cloud):
    def image(node_config: dict) -> str:
        if cloud == "aws":
            return node_config["ImageId"]
        (boot,) = [disk for disk in node_config["disks"] if disk.get("boot")]
        return boot["initializeParams"]["sourceImage"]

    images = {image(node["node_config"]) for node in load(cloud)["available_node_types"].values()}
    assert len(images) == 1, images
    (only,) = images
    assert re.fullmatch(r"ami-[0-9a-f]{8,17}", only) if cloud == "aws" else \
        only.startswith("projects/deeplearning-platform-release/global/images/family/")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_node_installs_this_checkout_with_the_right_tensorflow(cloud):
    config = prepared(cloud)
    (checkout_mount,) = [remote for remote, local in config["file_mounts"].items() if Path(local) == Path(".")]
    head_checkout, head_extra, head_ray = project_install(config["head_setup_commands"])
    worker_checkout, worker_extra, worker_ray = project_install(config["worker_setup_commands"])
    assert head_checkout == worker_checkout == home(checkout_mount)
    assert (head_extra, worker_extra) == ("cpu", "gpu")
    assert head_ray == worker_ray
    assert Version(head_ray.split("==")[1]) >= Version("2.60"), "the token-auth settings are Ray 2.60's"


def test_the_extras_installed_exist():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"cpu", "gpu"} <= set(extras)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_file_mounts_come_from_this_repository(cloud):
    for remote, local in load(cloud)["file_mounts"].items():
        source = (ROOT / local).resolve()  # `ray up` resolves it from the folder it runs in: the repository root
        assert source.exists(), f"{remote}: {local}"
        assert source == ROOT or ROOT in source.parents, f"{remote}: {local} is outside the repository"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_token_auth_is_set_alike_on_head_and_workers(cloud):
    config = prepared(cloud)
    head_env, head_args = ray_start(config["head_start_ray_commands"])
    worker_env, worker_args = ray_start(config["worker_start_ray_commands"])
    assert "--head" in head_args
    assert head_env == worker_env
    assert head_env["RAY_AUTH_MODE"] == "token"
    token = home(head_env["RAY_AUTH_TOKEN_PATH"])
    # The head makes the token before Ray starts there, without printing it into the launcher's output...
    (generate,) = [command for command in config["head_setup_commands"] if "ray get-auth-token --generate" in command]
    assert "> /dev/null" in generate
    # ...at the default path, the one `ray get-auth-token` writes and the start commands read.
    assert token == "~/.ray/auth_token"
    # The autoscaler copies it from the head to each worker before the worker starts Ray.
    assert [home(path) for path in config["cluster_synced_files"]] == [token]
    assert not any(token in command for command in config["worker_setup_commands"]), "workers must not make their own"
    assert option(worker_args, "--address") == f"$RAY_HEAD_IP:{option(head_args, '--port')}"
    # Login shells on the nodes (`ray exec`, `ray attach`, job drivers) use token auth too. They must not set
    # RAY_AUTH_TOKEN_PATH: with it pointing at a file not made yet, `ray get-auth-token --generate` fails.
    assert any("export RAY_AUTH_MODE=token" in command and ".bashrc" in command for command in config["setup_commands"])
    assert not any("export RAY_AUTH_TOKEN_PATH" in command for command in config["setup_commands"])


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_node_hands_rays_jemalloc_on_to_its_trial_workers(cloud):
    # Without it, a node's workers use glibc's malloc and grow with every trial (nas/runner/cluster.py).
    config = prepared(cloud)
    for commands in ["head_start_ray_commands", "worker_start_ray_commands"]:
        env, _ = ray_start(config[commands])
        assert env.get(PRELOAD_ON_WORKERS) == "1", commands


def test_both_clouds_set_up_nodes_alike():
    aws, gcp = load("aws"), load("gcp")
    for key in ["file_mounts", "cluster_synced_files", "rsync_exclude", "rsync_filter", "setup_commands",
                "worker_setup_commands", "head_start_ray_commands", "worker_start_ray_commands", "max_workers",
                "idle_timeout_minutes"]:
        assert aws[key] == gcp[key], key
    assert project_install(aws["head_setup_commands"]) == project_install(gcp["head_setup_commands"])


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("cloud", CLOUDS)
def test_commands_are_valid_bash(cloud):
    config = load(cloud)
    commands = [command for key in LAUNCHER_COMMAND_LISTS for command in config.get(key, [])]
    script = "\n".join(f"( {command}\n)" for command in commands)
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
