-- The fitted model of each version (so rescoring needs no retraining) and each prediction's top drivers.
ALTER TABLE profile_ai.models ADD COLUMN artifact bytea;
ALTER TABLE profile_ai.predictions ADD COLUMN drivers jsonb NOT NULL DEFAULT '[]';
