"""Business questions over the customers: how many, what sets a group apart, who first by a model, why."""
