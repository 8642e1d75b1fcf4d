"""SafeStar: geo."""
