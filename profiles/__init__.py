"""The profile core at the bottom of the house: the normalised Profile/Event model, the event dictionary,
per-profile aggregates, path helpers and document wording. It imports nothing of ours; everything else may
import it (checked by import-linter, `make lint`)."""
