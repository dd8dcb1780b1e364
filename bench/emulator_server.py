"""Run the Tracardi emulator on loopback for benchmarks: seeded with synthetic profiles and events.

  python bench/emulator_server.py --profiles 10000 --events 20 --port 8686 [--version 1.x]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn

from tests.tracardi_emulator.app import TracardiEmulator
from tests.tracardi_emulator.generate import make_profiles

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--port", type=int, default=8686)
    ap.add_argument("--version", default="1.x")
    a = ap.parse_args()
    emu = TracardiEmulator(a.version)
    profiles, events = make_profiles(a.profiles, seed=1, events_per_profile=a.events)
    emu.seed(profiles, events)
    del profiles, events
    print("ready", flush=True)
    uvicorn.run(emu.app, host="127.0.0.1", port=a.port, log_level="error", access_log=False)
