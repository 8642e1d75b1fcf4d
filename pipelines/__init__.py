"""SafeStar: pipelines."""
