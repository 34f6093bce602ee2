"""The settings of a search: every setting as one field of `SearchConfig` (its check, its flag, its help, whether a
resume may change it), the value checks Python keywords and command-line flags share, and the objects behind them.

- `search_config.py`: `SearchConfig`, its defaults and groups, `storage_url` (where the store is), and what a
  weight-sharing search may be given.
- `checks.py`: one function a value check (`duration("30m")`, `integer(1)`, ...), raising ValueError.
- `inputs.py`: `SearchInputs`, the space, data and training code behind the settings, and `resolve_space` (a
  built-in name, a SearchSpace, `package.module:attribute`, or a keras-tuner build function or HyperModel).

It imports the data and estimator rooms (nas/data, nas/estimator), nas/errors.py, search_spaces and strategies;
never the runner or Ray: the runner and the face read the settings, not the other way round.
"""
