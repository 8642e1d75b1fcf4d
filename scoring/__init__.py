"""SafeStar scoring engine: pure Polars/NumPy functions from registry + attributed incidents
+ rules to ratings, explanations, changes and public aggregates (docs/SCORING.md).

Entry points: `scoring.rules.load_rules`, `scoring.engine.score` / `rate`,
`scoring.explain.format_explanation`, `scoring.history.rating_changes`,
`scoring.overrides.apply_overrides` / `load_appeals`, `scoring.public.public_aggregates`.
"""
