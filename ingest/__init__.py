"""SafeStar ingestion: landing zone, readers, mapping.yaml, quarantine, taxonomy, incidents.

Modules: `taxonomy` (unified categories), `mapping` (mapping.yaml), `sniff` and `readers`
(file content and formats), `prefetch` (read ahead while validating), `columns` (headers to
canonical columns), `normalise` (trimming, width folding, dates), `validate` (row checks and
quarantine reasons), `landing` (`iter_landing`), `merge` (superseding),
`upsert` (a night's files into DuckDB), `incidents` (one count per incident), `event_updates`
(rebuilding only the touched incident chains), `quality` (the data-quality table). Rules: ingest/README.md.
"""
