"""nas: neural architecture search for Keras/TensorFlow, with trials scheduled by Ray Tune.

Commands: `python -m nas.search`, `python -m nas.leaderboard`, `python -m nas.train`
(or `nas search|leaderboard|train`).
"""
__version__ = "0.1.0"
