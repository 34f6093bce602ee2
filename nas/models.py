"""The trained models a search keeps: each top-k architecture's final-trained model, saved as a `.keras` file under
the output folder (`models/RUN/trial-N.keras`), and loaded back with Keras' safe mode on.
"""
from __future__ import annotations

from pathlib import Path

from nas.errors import RunError


def model_path(output: Path, run: str, trial: int) -> Path:
    return output / "models" / run / f"trial-{trial}.keras"


def save_model_file(path: Path, content: bytes) -> Path:
    """Write a model's .keras bytes (written whole to a temporary name first, so a kill leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    partial.replace(path)
    return path


def load_model(path: str | Path | None, what: str):
    """The Keras model saved at `path`; safe mode refuses files that would run code (Lambda layers)."""
    if path is None:
        raise RunError(f"{what} has no saved model: only the final training's top-k architectures are saved. "
                       "Expected a trial the final training retrained (see the leaderboard's model_path)")
    if not Path(path).is_file():
        raise RunError(f"The model of {what} is missing: no file at {path}. Expected the output folder the search "
                       "wrote, or retrain it with nas.train(trial=..., retrain=True)")
    import keras

    return keras.saving.load_model(path, safe_mode=True)
