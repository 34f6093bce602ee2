"""The seed lecture's hand-made models, as points of the `mlp` and `cnn` spaces with the lecture's recipes.

The lecture trained each on full MNIST for 20 epochs with batch 128 and reported the test accuracies below;
`python -m nas.train --reference NAME` retrains one, and a search enqueues its space's references first so it
starts from the human baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

from nas.estimator.recipe import Optimizer, Recipe
from search_spaces import Architecture, get_space


@dataclass(frozen=True)
class Reference:
    name: str
    space: str
    recipe: Recipe
    lecture_test_accuracy: float
    description: str

    @property
    def arch(self) -> Architecture:
        return get_space(self.space).reference(self.name)


_SGD_20_EPOCHS = Recipe(optimizer=Optimizer.SGD, learning_rate=0.01, batch_size=128, epochs=20)

REFERENCES: dict[str, Reference] = {
    reference.name: reference for reference in (
        Reference("perceptron", "mlp", _SGD_20_EPOCHS, 0.9101, "Dense(10) softmax, SGD"),
        Reference("mlp", "mlp", _SGD_20_EPOCHS, 0.9514, "MLP 2x128 ReLU, SGD"),
        Reference("lenet", "cnn", Recipe(optimizer=Optimizer.ADAM, learning_rate=1e-3, batch_size=128, epochs=20),
                  0.9936, "LeNet-like CNN: conv 20@5x5, pool, conv 50@5x5, pool, dense 500; Adam"),
    )
}

