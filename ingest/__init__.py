"""SafeStar ingestion: landing zone, readers, mapping.yaml, quarantine, taxonomy, incidents.

Modules: `taxonomy` (unified categories), `mapping` (mapping.yaml), `sniff` and `readers`
(file content and formats), `validate` (row checks and quarantine reasons), `landing`
(`ingest_sources`), `merge` (superseding), `incidents` (one count per incident), `quality`
(the data-quality table). See ingest/README.md for the rules.
"""
