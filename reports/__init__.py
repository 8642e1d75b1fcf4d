"""SafeStar: reports."""
