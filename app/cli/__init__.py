"""`profile-ai`: the command line. Thin: parse, call the services, print a table or --json.

Every command takes --json (machine-readable on stdout, logs on stderr) and --data-dir, reads the same
settings as the server, exits 0 on success and non-zero with a one-line error on failure.
"""

from app.cli import (  # noqa: F401 - register the commands
    insights,
    jobs,
    keys,
    predictions,
    profiles,
    segments,
    serve,
    tracardi,
)
from app.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
