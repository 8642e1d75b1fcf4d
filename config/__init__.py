"""SafeStar's versioned policy files (rules.yaml, taxonomy.yaml, ...), shipped inside the
package so an installed wheel finds them; every one is read through `config.loader.load`
(and, in assets, the `Policy` resource)."""
from config.loader import CONFIG_DIR

__all__ = ["CONFIG_DIR"]
