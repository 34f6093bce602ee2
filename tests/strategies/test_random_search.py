"""Random search keeps the strategy contract and draws each choice uniformly."""
from __future__ import annotations

from collections import Counter

from search_spaces import get_space
from strategies import get_strategy
from tests.strategies.contract import StrategyContract, small_space


class TestRandomContract(StrategyContract):
    strategy_name = "random"


def test_each_choice_is_drawn_uniformly():
    strategy = get_strategy("random", get_space("cnn"), seed=0)
    draws = [strategy.ask().arch for _ in range(600)]
    blocks, pooling = Counter(arch["blocks"] for arch in draws), Counter(arch["pooling"] for arch in draws)
    assert set(blocks) == {1, 2, 3} and min(blocks.values()) > 160
    assert min(pooling.values()) > 260


def test_an_exhausted_space_stays_exhausted():
    strategy = get_strategy("random", small_space(), seed=0)
    for _ in range(5):
        strategy.tell(strategy.ask(), 0.0)
    assert strategy.ask() is None and strategy.ask() is None
