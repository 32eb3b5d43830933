"""Query-string reading and parameter parsing (stations.web.params)."""

from urllib.parse import parse_qsl

from hypothesis import given, settings, strategies as st

from stations.web.params import query_args

# Query strings as clients send them: names, values, separators, escapes, stray bytes.
_pieces = st.sampled_from(["lat", "lon", "k", "amenities", "=", "&", "&&", "+", "%2C", "%E5%BE%AE", "%ZZ", "%",
                           "microwave", "39.9", "-1e3", "", "微", ";", "a=b=c"])


@settings(max_examples=500)
@given(st.lists(_pieces, max_size=12).map("".join), st.binary(max_size=6))
def test_reads_like_parse_qsl_first_value_wins(text, raw):
    qs = text.encode() + raw
    want: dict[str, str] = {}
    for name, value in parse_qsl(qs.decode("utf-8", "replace"), keep_blank_values=True):
        want.setdefault(name, value)
    assert query_args(qs) == want


def test_everyday_queries():
    assert query_args(b"lat=39.9&lon=116.4&amenities=microwave%2Ctoilet&open=now") == {
        "lat": "39.9", "lon": "116.4", "amenities": "microwave,toilet", "open": "now"}
    assert query_args(b"k=3&k=9&at=2026-11-22T21:30+08:00") == {"k": "3", "at": "2026-11-22T21:30 08:00"}
    assert query_args(b"") == {} and query_args(b"flag") == {"flag": ""}
