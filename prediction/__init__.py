"""Behaviour prediction, point in time: features before as_of, labels after it, gradient boosting beside
honest baselines (recency/frequency rule, logistic RFM, BG/NBD + Gamma-Gamma), model cards.

A library: no FastAPI, no settings. The service in app/predictions/ would feed it the event log from PostgreSQL.
"""

from prediction.evaluation import InsufficientDataError
from prediction.events import EventLog
from prediction.goals import Goal
from prediction.training import Scores, TrainedModel, percentiles, score, tier_of, train

__all__ = ["EventLog", "Goal", "InsufficientDataError", "Scores", "TrainedModel", "percentiles", "score",
           "tier_of", "train"]
