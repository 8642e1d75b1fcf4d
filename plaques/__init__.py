"""SafeStar: plaques (牌匾) — the registry, signed QR codes, artwork and print batches.

- ``plaques.registry.plan_plaques`` — the registry after a rating date and its actions
  (new / replace / withdraw), with the stability rule for index-only star changes.
- ``plaques.sign`` — HMAC signatures of serials, plaque URLs, the signing secret.
- ``plaques.qr`` — QR matrices (error correction Q, 4-module quiet zone), SVG paths, PNGs.
- ``plaques.artwork`` — the plaque artwork SVG (``reports/templates/plaque_artwork.svg.j2``).
- ``plaques.batch.write_batch`` — the print batch folder of a date (manifest, files, proof, zip).
- ``plaques.pull`` / ``plaques.cli`` — ``safestar plaques pull`` for printers, with a ledger.
- ``plaques.verify`` / ``plaques.pages`` — what a scanned path means, and its static page.
- ``plaques.issue.issue_plaques`` — all of the above for one rating date, for the pipeline.
"""
