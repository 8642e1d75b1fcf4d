"""SafeStar: assets."""
