"""SafeStar: plaques (牌匾) — the registry, print orders, signing keys, and the printer's pull.

- ``plaques.registry.plan_plaques`` — the registry after a rating date and its actions
  (new / replace / withdraw), with the stability rule for index-only star changes.
- ``plaques.orders`` — the actions of a batch as print orders (signed QR URLs), stored by the
  nightly run, the veto monitor and key rotations; no file is made at night.
- ``plaques.keys`` — demo mode, checked secrets and base URL, the keyring with key ids and
  grace periods, the recorded key fingerprint; ``plaques.sign`` the signatures and URL forms;
  ``plaques.verify.check`` the one verification of a scanned URL; ``plaques.rotate`` key rotation.
- ``plaques.artwork`` (QR codes with ``qrcode``, the layout, the Jinja2 artwork SVG) and
  ``plaques.pdf`` (the print PDF with reportlab) — one plaque's design;
  ``plaques.printfiles`` its files.
- ``plaques.pull`` / ``plaques.cli`` — ``safestar plaques pull`` (files, lists, proofs, archive;
  resumable) and ``safestar plaques rotate``. Policy: ``config/plaques.yaml`` (``plaques.config``).
"""
