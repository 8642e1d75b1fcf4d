"""SafeStar: ingest."""
