"""Durations kept as counts in fixed buckets, so a median or p90 costs the same for ten petitions or a million.

Bucket ``i`` holds durations ``EDGES[i-1] <= hours < EDGES[i]`` (``EDGES[-1]`` = 0 before the first edge);
the last bucket, from 720 h (30 days) on, is open. A percentile is interpolated linearly inside the
bucket where it falls; one that falls in the open bucket is reported as that bucket's lower edge (720).
"""
import bisect

# hours: 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 1 d, 2 d, 3 d, 5 d, 7 d, 14 d, 30 d
EDGES = (0.25, 0.5, 1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336, 720)
BUCKETS = len(EDGES) + 1


def bucket_of(hours):
    """The bucket index of a duration in hours (negative durations, from clock skew, count as 0)."""
    return bisect.bisect_right(EDGES, max(0.0, hours))


def bounds(index):
    lower = 0.0 if index == 0 else float(EDGES[index - 1])
    upper = float(EDGES[index]) if index < len(EDGES) else None
    return lower, upper


def percentile(counts, q):
    """``q`` (0–1) of the durations whose bucket counts are ``counts`` ({index: n}); None when empty."""
    total = sum(counts.values())
    if total == 0:
        return None
    target = q * total
    seen = 0
    for index in range(BUCKETS):
        n = counts.get(index, 0)
        if n and seen + n >= target:
            lower, upper = bounds(index)
            if upper is None:
                return lower
            return round(lower + (upper - lower) * (target - seen) / n, 2)
        seen += n
    return bounds(BUCKETS - 1)[0]


def summary(counts):
    return {"count": sum(counts.values()), "p50_hours": percentile(counts, 0.5), "p90_hours": percentile(counts, 0.9)}
