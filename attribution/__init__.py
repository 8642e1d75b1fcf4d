"""SafeStar: attribution."""
