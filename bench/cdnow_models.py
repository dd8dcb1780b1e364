"""CDNOW, the classic calibration/holdout split: features before 1997-10-01 (the 39-week calibration period
ends 1997-09-30), outcomes over the next 39 weeks (273 days). Prints the purchase and ltv model cards'
holdout figures beside the baselines (BG/NBD, BG/NBD + Gamma-Gamma, logistic RFM, recency/frequency rule), and
the gain over the strongest baseline with its 95% interval (paired bootstrap, 200 resamples).

Method: prediction.train on the CDNOW event log (23,570 customers, 69,659 purchases from the lifetimes
wheel); the model is fitted on an earlier snapshot whose label window ends at the as-of date, so the holdout
is strictly later than anything it saw. Run: .venv/bin/python bench/cdnow_models.py
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.demo.cdnow import cdnow_event_log
from prediction import Goal, train


def main() -> None:
    log = cdnow_event_log()
    as_of = datetime(1997, 10, 1, tzinfo=UTC).timestamp()
    for goal in ("purchase", "ltv"):
        t = time.perf_counter()
        card = train(log, Goal.parse(goal), 273, as_of, purchase_types=["purchase-order"]).card
        print(f"{goal}: trained in {time.perf_counter() - t:.1f}s on {card['training_rows']:,} rows "
              f"(snapshot {card['training_snapshot']}), holdout {card['rows']:,} customers")
        rows = [("model", card["holdout"]), *card["baselines"].items()]
        keys = ["auc", "pr_auc", "brier", "lift_top10"] if goal != "ltv" else ["mae", "rmse", "spearman",
                                                                              "top10_spend_share"]
        print("  " + f"{'':28}" + "".join(f"{k:>18}" for k in keys))
        for name, m in rows:
            print("  " + f"{name:28}" + "".join(f"{m.get(k)!s:>18}" for k in keys))
        print(f"  quality: {card['quality']}; warning: {card['warning']}")
        print(f"  against the strongest baseline (paired bootstrap, 95% interval): {card['vs_best_baseline']}")
        if card.get("stack_weights"):
            print(f"  stack weights (per unit of logit / log1p forecast): {card['stack_weights']}")


if __name__ == "__main__":
    main()
