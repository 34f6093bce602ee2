"""Weight sharing: judge architectures with the shared weights of a supernet instead of training each (ENAS).

- `supernet.py`: the cnn space as one network whose sub-networks are its architectures, and its training step.
- `judge.py`: rounds of training the shared weights on uniformly drawn children, then judging the strategy's
  proposals with them.
- `latency_estimate.py`: the latency of judged children, fitted to children that were built and timed.
- `trial.py`: one supernet from start to end, as nas/runner/supernets.py runs it on Ray Tune.
- `shortlist.py`: the best judged, trained alone before the final training picks among them.

It imports the data and the estimator (nas/data, nas/estimator), search_spaces, strategies and results; never Ray
(nas/runner runs it) nor the settings (nas/settings checks what a weight-sharing search may be given).
"""
