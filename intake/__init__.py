"""SafeStar: intake."""
