"""SafeStar: scoring."""
