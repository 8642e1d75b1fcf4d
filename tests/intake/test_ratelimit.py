"""The token bucket, on a hand-driven clock."""
from __future__ import annotations

from intake.ratelimit import RateLimit, TokenBuckets


def test_bucket_allows_burst_then_refills():
    now = [0.0]
    b = TokenBuckets(RateLimit(capacity=3, per_second=0.5), clock=lambda: now[0])
    assert [b.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = b.take("a")
    assert 1.9 < wait <= 2.0
    assert b.take("b") == 0.0  # another client has its own bucket
    now[0] += 2.0
    assert b.take("a") == 0.0 and b.take("a") > 0


def test_idle_buckets_are_pruned():
    now = [0.0]
    b = TokenBuckets(RateLimit(capacity=2, per_second=1.0), clock=lambda: now[0], max_clients=10)
    for i in range(10):
        b.take(f"c{i}")
    now[0] += 5.0
    b.take("new")
    assert len(b) <= 2


def test_buckets_in_one_file_are_one_allowance_for_every_process(tmp_path):
    """Worker processes open the same bucket file: a client's connections reaching either
    one spend the same tokens."""
    now = [0.0]
    limit = RateLimit(capacity=4, per_second=0.5)
    path = str(tmp_path / "ratelimit.sqlite")
    first, second = (TokenBuckets(limit, path, clock=lambda: now[0]) for _ in range(2))
    assert [w == 0 for w in (first.take("a"), second.take("a"), first.take("a"), second.take("a"))] == [True] * 4
    assert first.take("a") > 0 and second.take("a") > 0  # four in all, not four each
    assert second.take("b") == 0.0
    now[0] += 2.0
    assert first.take("a") == 0.0 and second.take("a") > 0
