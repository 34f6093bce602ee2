"""The data: every source a search's data comes from, checked, its task settled and split, and the bundled MNIST.

- `sources.py`: what the user hands over (a known data set's name, a .npz path, arrays, a tf.data.Dataset, a
  function that makes the data in each worker) as a `DataSource`, and `load_data`.
- `task_data.py`: `prepare` turns arrays into `TaskData`: inputs checked and scaled, the `Task` (classification or
  regression) settled, the validation split made (stratified, seeded) and the test part kept apart.
- `datasets.py`: the data sets nas knows by name (MNIST bundled here as `mnist.npz`, with `MNIST-NOTICE.md`;
  scikit-learn's digits; Fashion-MNIST and CIFAR-10 from files on the machine); `files.py` reads .npz and IDX files.
- `importing.py`: finding a user's object again from `package.module:attribute` (a data function here; the
  settings use it for spaces and training functions too).

It imports nothing of nas but its errors (nas/errors.py), and neither TensorFlow nor Ray at import time.
"""
