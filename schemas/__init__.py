"""Pandera models (Polars backend) for every frame that crosses a module boundary."""
