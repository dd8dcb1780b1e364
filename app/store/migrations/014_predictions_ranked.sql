-- "Who first by this model" (top_customers, POST /v1/predictions/top) walks a model's predictions best first:
-- this index holds them in exactly that order, so the first page is read without sorting the model's rows
-- (a million at scale), and the next pages continue from there.
CREATE INDEX IF NOT EXISTS predictions_ranked
    ON profile_ai.predictions (model_id, (coalesce(probability, value)) DESC NULLS LAST, profile_id);
