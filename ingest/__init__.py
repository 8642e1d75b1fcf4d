"""SafeStar ingestion: landing zone, readers, mapping.yaml, quarantine, taxonomy, incidents.

Modules: `taxonomy` (unified categories), `mapping` (mapping.yaml), `sniff` and `readers`
(file content and formats), `prefetch` (read ahead while validating), `columns` (headers to
canonical columns), `normalise` (trimming, width folding, dates), `validate` (row checks and
quarantine reasons), `landing` (`ingest_sources`), `merge` (superseding), `incidents` (one
count per incident), `quality` (the data-quality table). Rules: ingest/README.md.
"""
