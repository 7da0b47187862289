"""batches(): fixed-size lists, the last one shorter, pulled lazily."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecr_cleanup.batching import batches


@pytest.mark.parametrize(
    ("count", "size", "expected"),
    [
        (0, 100, []),
        (1, 100, [1]),
        (100, 100, [100]),
        (101, 100, [100, 1]),
        (250, 100, [100, 100, 50]),
        (5, 1, [1, 1, 1, 1, 1]),
    ],
)
def test_batch_sizes(count: int, size: int, expected: list[int]) -> None:
    result = list(batches(range(count), size))
    assert [len(batch) for batch in result] == expected
    assert [item for batch in result for item in batch] == list(range(count))


def test_batches_pull_lazily() -> None:
    pulled = []

    def items() -> Iterator[int]:
        for item in range(10):
            pulled.append(item)
            yield item

    first = next(batches(items(), 3))
    assert first == [0, 1, 2]
    assert pulled == [0, 1, 2]
