"""The job engine (engine.py), what each job does (runner.py), the queue as the rest sees it (queue.py), schedules and the partitioned backfill."""
