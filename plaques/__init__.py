"""SafeStar: plaques."""
