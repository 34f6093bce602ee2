"""Keras Tuner's `max_consecutive_failed_trials`: once that many trials in a row have failed, the search launches no
more. The recorder counts each trial as it ends (nas/runner/recorder.py), the searcher stops proposing
(nas/runner/searcher.py); the trials in flight finish, and the search goes on to its final training.

keras-tuner's oracle counts its trials in the order they end, any failure alike (a model over max_model_size too),
and raises; nas counts in the order the driver hears of the trials, every trial stored as failed alike (one over
max_params or max_latency, or refused before Ray by its memory estimate, too), and stops the trials instead, so
that what was found is kept.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass
class ConsecutiveFailures:
    """The trials that failed in a row so far, and, once `limit` is reached, why the search launches no more."""

    limit: int | None  # None: never stop
    streak: int = 0
    reason: str | None = None

    def trial_ended(self, number: int, error: str | None) -> None:
        """Trial `number` ended: failed with `error`, or not (None)."""
        if error is None:
            self.streak = 0
            return
        self.streak += 1
        if self.limit is not None and self.streak >= self.limit and self.reason is None:
            self.reason = (f"{self.streak} trials in a row failed (max_consecutive_failed_trials {self.limit}); "
                           f"the last, trial {number}: {' '.join(error.split())[:300]}")
            logger.warning("The search launches no more trials: %s", self.reason)

    @property
    def reached(self) -> bool:
        """Whether the search should launch no more trials (it stays so once the limit was reached)."""
        return self.reason is not None
