"""SafeStar demo-city generator: a deterministic Xiamen-like city and its five departments' exports.

Entry point: `generator.city.generate_city` (also `python -m generator`).
"""
