"""Benchmark: what one backfill partition pays to read an export directory.

Method: a realistic export from bench/large_export.py (5,000 profiles, ~247k events by default) is read three
ways, wall time each: the full read; partition 0 of K reading only its share (`keep`, as `run_partition`
does); and the same partition filtering a full read (how partitions read before). A partition still parses
every line's JSON; what it skips is validating and building the other partitions' profiles and events.
Run: .venv/bin/python bench/partition_read.py [--profiles 5000] [--partitions 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.sync.service import partition_of
from app.tracardi.export import ExportDirectory
from bench.large_export import write_large_export


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=5000)
    ap.add_argument("--partitions", type=int, default=4)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_large_export(Path(tmp), a.profiles)
        export = ExportDirectory(tmp)
        t = time.perf_counter()
        n = sum(1 for _ in export.iter_profiles_with_events())
        full = time.perf_counter() - t
        t = time.perf_counter()
        mine = sum(1 for _ in export.iter_profiles_with_events(keep=lambda p: partition_of(p, a.partitions) == 0))
        share = time.perf_counter() - t
        t = time.perf_counter()
        filtered = sum(1 for x in export.iter_profiles_with_events() if partition_of(x.profile.id, a.partitions) == 0)
        before = time.perf_counter() - t
    assert mine == filtered
    print(f"export of {n} profiles: full read {full:.1f} s; partition 0 of {a.partitions} ({mine} profiles) "
          f"reading its share {share:.1f} s vs filtering a full read {before:.1f} s ({before / share:.1f}x)")


if __name__ == "__main__":
    main()
