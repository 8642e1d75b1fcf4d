"""SafeStar: plaques (牌匾) — the registry, signed QR codes, artwork and print batches.

- ``plaques.registry.plan_plaques`` — the registry after a rating date and its actions
  (new / replace / withdraw), with the stability rule for index-only star changes.
- ``plaques.sign`` — HMAC signatures of serials, plaque URLs, the signing secret.
- ``plaques.qr`` — QR matrices (error correction Q, 4-module quiet zone), SVG paths, PNGs,
  many at once (``qr_matrices``, ``svg_paths``); ``plaques.qr_codewords`` the codewords.
- ``plaques.artwork`` — the plaque artwork SVG (``reports/templates/plaque_artwork.svg.j2``);
  ``plaques.stencil`` fills a template per variant by string joins (artwork, pages).
- ``plaques.batch.write_batch`` — the print batch folder of a date (manifest, files, proof, zip),
  rendered in chunks by ``plaques.render``; ``plaques.zipwrite`` assembles the zip.
- ``plaques.pull`` / ``plaques.cli`` — ``safestar plaques pull`` for printers, with a ledger.
- ``plaques.verify`` / ``plaques.pages`` — what a scanned path means, and its static page
  (nightly: unchanged pages hard-linked from the previous site).
- ``plaques.issue.issue_plaques`` — all of the above for one rating date, for the pipeline.
"""
