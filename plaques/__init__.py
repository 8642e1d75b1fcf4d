"""SafeStar: plaques (牌匾) — the registry decided nightly as data (``registry``), print orders
(``orders``) signed with checked keys (``keys``, ``sign``), and the printer's pull
(``pull``) making each plaque's design (``artwork``) and files (``printfiles``). Policy:
``config/plaques.yaml`` (``config``)."""
