"""The suppression attacker over every compound page of the demo-style small city."""
from __future__ import annotations

from reports.site import page_paths, render
from reports.site_store import FILE_NAME, Publication
from tests.site.attacker import derived, small_numbers


def test_no_page_of_the_city_gives_a_small_count_away(small_city):
    for as_of in (small_city["first"], small_city["second"]):
        pub = Publication(small_city["out"] / as_of.isoformat() / FILE_NAME)
        hidden = 0
        for path in page_paths(pub):
            if path.endswith(".svg"):
                continue
            html = render(pub, path).body
            assert small_numbers(html, pub.suppress_below) == [], path
            assert derived(html, pub.suppress_below) == [], path
            hidden += html.count(">少量<")
        assert hidden > 50  # the city has many small counts: the test is not vacuous
