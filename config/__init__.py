"""SafeStar's versioned policy files (rules.yaml, taxonomy.yaml, ...), shipped inside the
package so an installed wheel finds them; read through `scoring.rules.load_rules` (and,
in assets, the `Policy` resource)."""
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
