"""Weight sharing: judge architectures with the shared weights of a supernet instead of training each (ENAS).

- `supernet.py`: the cnn space as one network whose sub-networks are its architectures, and its training step.
- `judge.py`: rounds of training the shared weights on uniformly drawn children, then judging the strategy's
  proposals with them.
- `latency_estimate.py`: the latency of judged children, fitted to children that were built and timed.
- `trial.py`: one supernet from start to end, as nas/runner/supernets.py runs it on Ray Tune.
- `shortlist.py`: the best judged, trained alone before the final training picks among them.
"""
from __future__ import annotations

from nas.enums import Scheduler
from nas.errors import SettingError
from nas.objectives import ACCURACY_OBJECTIVES


def check_weight_sharing(config, space) -> None:
    """Refuse, with one line, a weight-sharing search of something a supernet cannot share weights for."""
    from search_spaces.cnn import CNN_SPACE

    if space.name != CNN_SPACE.name or space.builder is not CNN_SPACE.builder \
            or space.to_dict() != CNN_SPACE.to_dict():
        raise SettingError("weight_sharing", f"shares weights among the built-in cnn space's architectures only; "
                                             f"received space {space.name!r}. Expected space cnn, or a search "
                                             "without weight sharing")
    if config.train_fn is not None:
        raise SettingError("weight_sharing", "trains a supernet its own way, so it takes no train_fn; expected "
                                             "one or the other")
    if config.scheduler != Scheduler.FIFO:
        raise SettingError("weight_sharing", "judges architectures without training them, so a scheduler has "
                                             "nothing to stop; expected scheduler fifo")
    if config.objective is not None and config.objective not in ACCURACY_OBJECTIVES:
        raise SettingError("weight_sharing", f"judges architectures by validation accuracy; expected objective "
                                             f"{', '.join(ACCURACY_OBJECTIVES)}, received {config.objective!r}")
