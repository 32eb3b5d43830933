"""Pieces of the nearest answer (stations.lookup) that the HTTP tests cannot pin down exactly."""

import json

from hypothesis import given, settings, strategies as st

from stations.lookup import Travel


@settings(max_examples=500)
@given(distance_m=st.one_of(st.floats(0, 2.1e7), st.sampled_from([0.0, 0.04, 0.05, 0.95, 99.95, 1509.15])),
       bearing_deg=st.floats(0, 359.999))
def test_numbers_are_tenths_and_valid_json(distance_m, bearing_deg):
    travel = Travel(speeds_m_s={"walk": 1.25, "ebike": 15 / 3.6, "car": 30 / 3.6}, circuity=1.3)
    got = json.loads("{" + travel.numbers_json(distance_m, bearing_deg)[1:] + "}")
    assert got == {"distance_m": round(distance_m, 1), "bearing_deg": round(bearing_deg, 1),
                   "minutes": travel.minutes(distance_m)}
    # The text is what json.dumps writes for those floats: no "1e-05", no "26.20000001".
    want = (f',"distance_m":{json.dumps(round(distance_m, 1))},"bearing_deg":{json.dumps(round(bearing_deg, 1))},'
            f'"minutes":{json.dumps(travel.minutes(distance_m), separators=(",", ":"))}')
    assert travel.numbers_json(distance_m, bearing_deg) == want


def test_minutes_by_hand():
    # 1,300 m at 1.3 circuity = 1,690 m of road; walking 4.5 km/h = 75 m/min: 22.5 minutes.
    travel = Travel(speeds_m_s={"walk": 4.5 / 3.6}, circuity=1.3)
    assert travel.minutes(1300.0) == {"walk": 22.5} and travel.minutes(1300.0, "walk") == 22.5
    assert travel.numbers_json(1300.0, 90.0) == ',"distance_m":1300.0,"bearing_deg":90.0,"minutes":{"walk":22.5}'
