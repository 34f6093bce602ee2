"""The Ray side of a search: the only package of nas that imports Ray.

- `cluster`: starting a local Ray or joining a cluster (the checks that must run before Ray is imported), the
  resources trials ask for, and the code a cluster's workers are sent.
- `searcher`: our ask/tell strategy behind Ray Tune's `Searcher` interface.
- `recorder`: a Ray Tune callback that writes every trial to the store as it starts and ends.
- `tune`: the search trials as a Ray Tune experiment, and the final trainings as Ray tasks, both around
  nas.estimator.evaluator.Evaluator.
"""
import os

# Set before Ray Tune is imported (any module of this package may be the first to import it).
# A failed trial reports an error instead of the metric; Tune would otherwise refuse that result.
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
# Tune's newer console output ignores RunConfig(verbose=0); the classic one honours it, and we draw our own.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# Tune's own Ctrl+C handler ends fit() as if the search were done; without it, Ctrl+C raises KeyboardInterrupt and
# the search stops as interrupted (completed trials are already stored; a resume continues).
os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
