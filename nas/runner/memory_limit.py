"""How much memory a trial may take, and the proposals refused in the driver because they would take more.

The limit is `max_memory` per trial, or by default the memory available when the search starts (on this machine,
or on the largest node of a joined cluster, as Ray's `memory` resource says) shared by the trials that run there at
once. A proposal is checked before Ray sees it, with the one estimate of nas/estimator/footprint.py: one over the
limit, or over max_params, is recorded as failed and its strategy hears it like any model over a limit, and it costs
no worker. While a trial trains, its worker holds it to the same limit (nas/runner/memory_guard.py).

Ray's own `memory` resource would only place trials; it limits nothing, so nas enforces the limit itself.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import psutil  # reads the machine's available memory (a well-kept library; Ray ships it too)

from nas.data.task_data import TaskData
from nas.errors import SpaceError, TrialFailed
from nas.estimator.footprint import (Footprint, built_layers, describe_bytes, estimate, footprint, memory_violation,
                                     worker_data_bytes)
from nas.estimator.objectives import Objective
from nas.estimator.recipe import Recipe
from search_spaces import Architecture, SearchSpace
from search_spaces.hypermodel import KerasTunerBuilder, default_architecture


def local_memory_limit(max_memory: int | None, concurrency: int | None, cpus_per_trial: float) -> int:
    """The limit before Ray starts, on this machine: `max_memory`, or the available memory over the trials its
    cores run at once."""
    cores = [{"CPU": float(os.cpu_count() or 1)}]
    return trial_memory_limit(max_memory, trials_at_once(concurrency, cpus_per_trial, 0.0, nodes=cores), False)


def trial_memory_limit(max_memory: int | None, trials_at_once: int, joined: bool) -> int:
    """`max_memory`, or the node's available memory over the trials that run on it at once."""
    if max_memory is not None:
        return max_memory
    available = psutil.virtual_memory().available
    if joined:
        from nas.runner.cluster import alive_nodes

        available = int(max((node.get("memory", 0.0) for node in alive_nodes()), default=0.0)) or available
    return max(1, available // max(1, trials_at_once))


def trials_at_once(concurrency: int | None, cpus_per_trial: float, gpus_per_trial: float,
                   nodes: list[dict] | None = None) -> int:
    """How many trials run at once on the largest node (Ray's, or the `nodes` given): --concurrency, or as many as
    its CPUs (and GPUs) allow."""
    if nodes is None:
        from nas.runner.cluster import alive_nodes

        nodes = alive_nodes()
    fits = max((min(node.get("CPU", 0.0) // cpus_per_trial,
                    node.get("GPU", 0.0) // gpus_per_trial if gpus_per_trial else math.inf) for node in nodes),
               default=1)
    fits = int(max(1, fits if fits != math.inf else 1))
    return min(fits, concurrency) if concurrency else fits


@dataclass(frozen=True)
class ProposalCheck:
    """Refuses, before Ray, a proposal that is over max_params or estimated over the memory limit."""

    space: SearchSpace
    input_shape: tuple
    num_outputs: int
    recipe: Recipe
    objective: Objective
    memory_limit: int  # bytes per trial
    data_bytes: int  # what one worker holds of the data

    @staticmethod
    def for_data(space: SearchSpace, data: TaskData, recipe: Recipe, objective: Objective,
                 memory_limit: int) -> ProposalCheck:
        return ProposalCheck(space, tuple(data.input_shape), data.num_outputs, recipe, objective, memory_limit,
                             worker_data_bytes(data))

    def refusal(self, arch: Architecture) -> dict | None:
        """The figures of a trial refused without training (its error, over_limit, params and FLOPs), or None
        when the architecture may train (or its space cannot count it: its worker checks it once built)."""
        try:
            needs = estimate(self.space, arch, self.input_shape, self.num_outputs, self.recipe)
        except ValueError:  # it does not fit the input: its trial fails with the builder's reason, as before
            return None
        if needs is None:
            return None
        reason = (self.objective.violation(needs.params, latency_ms=None)
                  or memory_violation(needs, self.data_bytes, self.memory_limit))
        if reason is None:
            return None
        return {"error": reason, "over_limit": True, "params": needs.params, "flops": needs.flops,
                "latency_ms": 0.0}


# Architectures drawn to see whether a space can meet the data and the limits at all (counted, not built).
SAMPLED_FOR_CHECK = 1000
BUILT_FOR_CHECK = 3  # keras-tuner's defaults and 2 random: a user's build(hp) may be slow to build


def _built_footprint(space: SearchSpace, arch: Architecture, data: TaskData, recipe: Recipe, seed: int) -> Footprint:
    """The footprint of an architecture of a space that cannot count its layers, built here (on the data's shape
    where its model has none of its own); ValueError where it cannot train on the data."""
    import keras

    from nas.estimator.evaluator import build_model, model_input_shape

    try:
        model = build_model(space, arch, data.input_shape, data.num_outputs, data.task, seed)
    except TrialFailed as error:
        raise ValueError(str(error)) from None
    try:
        own = model_input_shape(model, data.input_shape)
        if tuple(own) != tuple(data.input_shape):
            raise ValueError(f"its model takes inputs shaped {own}")
        return footprint(built_layers(model), math.prod(own), recipe)
    finally:
        del model
        keras.backend.clear_session()


def check_space_meets(space: SearchSpace, data: TaskData, recipe: Recipe, objective: Objective,
                      memory_limit: int | None, seed: int = 0, limit_given: bool = True) -> None:
    """Refuse, before Ray starts, a space none of whose architectures can train on this data within the limits:
    its references and SAMPLED_FOR_CHECK random architectures, counted (SpaceError, one line). A keras-tuner
    build(hp) is built here instead: keras-tuner's defaults and random architectures, BUILT_FOR_CHECK in all. A
    space where only some fit searches, their trials failing with the reason. Another space that cannot count its
    layers is checked in its workers. `limit_given`: whether the user set the memory limit (max_memory), or it is
    the default."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape, data_bytes = tuple(data.input_shape), worker_data_bytes(data)
    keras_tuner_space = isinstance(space.builder, KerasTunerBuilder)
    if space.counts_layers:
        candidates = [*space.references.values(), *(space.sample(rng) for _ in range(SAMPLED_FOR_CHECK))]
    elif keras_tuner_space:
        candidates = [default_architecture(space, rng), *(space.sample(rng) for _ in range(BUILT_FOR_CHECK - 1))]
    else:
        return
    unfit: str | None = None
    fewest_params = least_memory = None  # over the architectures that fit the input
    for arch in candidates:
        try:
            needs = _built_footprint(space, arch, data, recipe, seed) if keras_tuner_space else \
                estimate(space, arch, shape, data.num_outputs, recipe)
        except ValueError as error:
            unfit = unfit or str(error)
            continue
        over = objective.violation(needs.params, latency_ms=None) or (
            memory_limit is not None and memory_violation(needs, data_bytes, memory_limit))
        if not over:
            return
        fewest_params = min(fewest_params or needs.params, needs.params)
        least_memory = min(least_memory or needs.trial_bytes(data_bytes), needs.trial_bytes(data_bytes))
    if fewest_params is None:
        expected = "data its build(hp) can take" if keras_tuner_space else \
            "data the space can take, or another space (mlp takes any shape)"
        raise SpaceError(f"No architecture of space {space.name!r} fits inputs shaped {shape}: "
                         f"{str(unfit).rstrip('.')}. Expected {expected}")
    limits = []
    if objective.max_params is not None and fewest_params > objective.max_params:
        limits.append(f"max_params {objective.max_params:,}, while the smallest has {fewest_params:,} parameters")
    if memory_limit is not None and least_memory > memory_limit:
        named = f"max_memory {describe_bytes(memory_limit)} per trial" if limit_given else (
            f"the memory available per trial, {describe_bytes(memory_limit)} (what is free now shared by the trials "
            "that run at once; --max-memory or --concurrency change it)")
        limits.append(f"{named}, while the least demanding needs about {describe_bytes(least_memory)}")
    raise SpaceError(f"No architecture of space {space.name!r} (of {len(candidates):,} tried) fits the limits: "
                     f"{'; '.join(limits) or 'none fits max_params and max_memory together'}. Expected higher "
                     "limits or a space of smaller models")
