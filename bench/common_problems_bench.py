"""Error rates of the common-problems list on synthetic cities (tests/reports/problem_city.py).

False positives: cities with no cluster at all; the share of cities where anything is
listed (under the complete null this is the family-wise rate BH bounds by the FDR level)
and the mean number of rows listed. Power: cities with one rising and one concentrated
cluster planted at a given strength; the share of cities where each is listed at its street.

    .venv/bin/python -m bench.common_problems_bench --null 1000 --planted 200
"""
from __future__ import annotations

import argparse
import time

from reports.common_problems import common_problems
from scoring.rules import load_rules
from tests.reports import problem_city
from tests.reports.problem_city import GROUP_RATES, Plant

STRENGTHS = (2.0, 3.0, 4.0, 5.0, 6.0)
GROUPS = ("盗窃", "诈骗")  # the most frequent group and a smaller one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=1000, help="cities without clusters")
    ap.add_argument("--planted", type=int, default=200, help="cities per strength and group")
    args = ap.parse_args()
    cfg = load_rules().common_problems
    t0 = time.perf_counter()
    any_listed = rows = 0
    for seed in range(args.null):
        c = problem_city.city(100_000 + seed)
        out = common_problems(c.now, c.before, c.compounds, false_discovery_rate=cfg.false_discovery_rate,
                              confidence=cfg.confidence, min_compounds=cfg.min_compounds)
        any_listed += out.height > 0
        rows += out.height
    print(f"false-discovery level {cfg.false_discovery_rate:.0%}, min_compounds {cfg.min_compounds}, "
          f"city: 6 districts x 6 streets x 12 compounds, 8 groups")
    print(f"null cities: {args.null}; with anything listed: {any_listed} ({any_listed / args.null:.1%}); "
          f"rows listed per city: {rows / args.null:.3f}")
    print("| group (incidents per street per period) | strength | rising found | concentrated found |")
    print("| --- | --- | --- | --- |")
    for group in GROUPS:
        per_street = GROUP_RATES[group] * 12
        for strength in STRENGTHS:
            plants = (Plant("rising", "D1S2", group, strength), Plant("concentrated", "D3S4", group, strength))
            hits = [0, 0]
            for seed in range(args.planted):
                c = problem_city.city(seed, plants)
                out = common_problems(c.now, c.before, c.compounds, false_discovery_rate=cfg.false_discovery_rate,
                                      confidence=cfg.confidence, min_compounds=cfg.min_compounds)
                for k, p in enumerate(plants):
                    hits[k] += problem_city.found(out, p)
            print(f"| {group} ({per_street:.0f}) | x{strength:g} | {hits[0] / args.planted:.1%} | "
                  f"{hits[1] / args.planted:.1%} |")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
