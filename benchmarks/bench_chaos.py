"""Chaos run: the delivery guarantee under worker SIGKILLs, broker SIGKILLs and a lost store.

    python benchmarks/bench_chaos.py            # 20 worker kills, 2 broker kills, 1 wipe, 2 workers
    python benchmarks/bench_chaos.py --short    # the short form the test suite runs

It starts its own private broker on free ports (never the shared one), produces the
realistic delivery mix at a steady rate while it breaks things (``workers.devkit.chaos``),
then compares the folded ``suppressions`` topic with the pure rules over the whole
acknowledged input. Results are printed and written to benchmarks/results/chaos.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.devkit.chaos import ChaosPlan, run_chaos  # noqa: E402
from workers.settings import Settings  # noqa: E402

SHORT = ChaosPlan(worker_kills=3, broker_kills=1, wipes=1, workers=1, rate=300)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the short form (CI)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "chaos.json")
    args = parser.parse_args()
    plan = SHORT if args.short else ChaosPlan()
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        report = run_chaos(Settings.from_env(), Path(tmp), plan, say=lambda t: print(t, flush=True))
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
        "plan": asdict(plan),
        **report.as_dict(),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
