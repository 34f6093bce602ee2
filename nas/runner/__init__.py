"""The runner: one search from start to end, and the Ray side of it (the only package of nas that imports Ray).

- `experiment`: `run_search`, a run opened (or reloaded to resume) under its lease, Ray started or joined, the
  phases run in order, the run marked done; `search_phases`: the trials (or supernets and shortlist), then the
  final training of the top-k; `summary`: trials ranked by the objective and the run's summary.
- `cluster`: starting a local Ray or joining a cluster (the checks that must run before Ray is imported), the
  resources trials ask for, and the code a cluster's workers are sent.
- `tune`: the search trials as a Ray Tune experiment, and the final trainings as Ray tasks, both around
  nas.estimator.evaluator.Evaluator; `supernets`: a weight-sharing search's supernets as one; `searcher`: our
  ask/tell strategy behind Ray Tune's `Searcher` interface; `recorder`: a Tune callback that writes every trial
  to the store as it starts and ends; `worker_memory`: what a trial leaves in a reused worker, freed.
- `progress`: what a search tells its observers (the live display, TensorBoard); `run_files`: where a run's files
  go (models, report, Ray's experiments), and the checkpoints a completed run removes.

It may import the data, estimator, weight_sharing and settings rooms, nas/errors.py, results, search_spaces and
strategies; never the face (nas/search.py, ...) or the commands.
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
