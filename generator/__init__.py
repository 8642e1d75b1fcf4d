"""SafeStar: generator."""
