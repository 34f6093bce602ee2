"""What a model costs at inference: parameters, FLOPs (flops.py) and latency (latency.py says how it is timed)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from nas.estimator.flops import count_flops
from nas.estimator.latency import DEFAULT_BATCH_SIZE, measure_latency


@dataclass(frozen=True)
class ModelCost:
    params: int
    flops: int  # one example; a multiply-add is 2 (nas.estimator.flops)
    latency_ms: float  # batch 1
    latency_batch_ms: float | None = None  # one call on `latency_batch_size` examples
    latency_batch_size: int | None = None
    latency_device: str | None = None  # "CPU" or the GPU's name
    latency_threads: int | None = None  # TensorFlow's intra-op threads during the measurement

    def metrics(self) -> dict:
        """The figures a trial reports, under the same names."""
        return {"params": self.params, "flops": self.flops, "latency_ms": self.latency_ms,
                "latency_batch_ms": self.latency_batch_ms, "latency_batch_size": self.latency_batch_size,
                "latency_device": self.latency_device, "latency_threads": self.latency_threads}


def measure_cost(model, input_shape: Sequence[int], batch_size: int = DEFAULT_BATCH_SIZE) -> ModelCost:
    """Parameters, FLOPs, and latency at batch 1 and at `batch_size` on this process's device and threads."""
    latency = measure_latency(model, input_shape, batch_size=batch_size)
    return ModelCost(params=int(model.count_params()), flops=count_flops(model), latency_ms=latency.batch_1_ms,
                     latency_batch_ms=latency.batch_ms, latency_batch_size=latency.batch_size,
                     latency_device=latency.device, latency_threads=latency.threads)
