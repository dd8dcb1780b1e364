"""A goal is one row of `prediction.goals.GOALS`: the parser, training, scoring, the card and the drivers read the
table, so a row added in one place (here by the test) is a goal end to end."""

from __future__ import annotations

import numpy as np
import pytest

from prediction import score, train
from prediction.goals import GOALS, Goal, GoalKind, named_goals
from tests.prediction.test_library import T0, synthetic

DAY = 86400.0


def _visited(log, goal, spec, window):  # type: ignore[no-untyped-def]
    """Any event at all in the label window (a 'comes back' goal nobody wrote before)."""
    return (np.bincount(log.profile[window], minlength=log.n_profiles) > 0).astype(np.int8)


@pytest.mark.volume
def test_a_goal_added_as_one_row_parses_trains_scores_and_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown goal 'returns'"):
        Goal.parse("returns")
    monkeypatch.setitem(GOALS, "returns", GoalKind(_visited, forecast=True))
    goal = Goal.parse("returns")
    assert goal.name == "returns" and not goal.is_regression and "returns" in named_goals()
    log = synthetic()
    model = train(log, goal, 60, purchase_types=["purchase-order"], random_state=0)
    assert model.card["goal"] == "returns" and model.card["holdout"]["auc"] > 0.5
    assert all(d["label"] for d in model.card["drivers"])  # explained in words
    scores = score(model, log, T0 + 400 * DAY)
    assert len(scores.values) > 0 and all(0 <= v <= 1 for v in scores.values) and scores.drivers[0]


def test_the_parser_lists_the_tables_goals() -> None:
    with pytest.raises(ValueError) as err:
        Goal.parse("clv")
    assert all(name in str(err.value) for name in ("purchase", "churn", "ltv"))
    assert Goal.parse("event:content-rated[genres=Horror]").name == "event:content-rated[genres=Horror]"
    assert Goal.parse(" churn ").kind_of is GOALS["churn"]
