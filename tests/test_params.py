"""Parameter parsing (stations.web.params): the rules the OpenAPI document states, checked value by value."""

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st
from werkzeug.datastructures import MultiDict

from stations.config import load_settings
from stations.errors import ValidationError
from stations.web.params import DATETIME_PATTERN, Param, json_schema, parse, parse_json

K = Param("k", "int", "How many.", default=5, minimum=1, maximum_setting="max_k")
DIST = Param("d", "float", "Metres.", minimum=0, maximum=1000)
FLAG = Param("flag", "bool", "A flag.")
AT = Param("at", "datetime", "A time.")
TAGS = Param("tags", "list", "Tags.", default=(), enum=("a", "b", "c"))
BOX = Param("bbox", "bbox", "A box.")
NAME = Param("name", "str", "A name.", required=True)
SPECS = (K, DIST, FLAG, AT, TAGS, BOX, NAME)
SETTINGS = load_settings({"max_k": 7}, environ={})


def problems(args, specs=SPECS):
    with pytest.raises(ValidationError) as info:
        parse(specs, args, settings=SETTINGS)
    return [(p.field, p.reason) for p in info.value.problems]


def test_defaults_and_required():
    q = parse(SPECS, {"name": "x"}, settings=SETTINGS)
    assert q == {"k": 5, "d": None, "flag": None, "at": None, "tags": (), "bbox": None, "name": "x"}
    assert problems({}) == [("name", "is required")]


def test_every_problem_at_once_including_unknown_names():
    assert problems({"name": "x", "k": "0", "d": "abc", "amenity": "toilet"}) == [
        ("k", "out of range"), ("d", "not a number"), ("amenity", "unknown parameter")]


def test_empty_and_repeated_values_are_refused():
    assert problems(MultiDict([("name", "x"), ("k", "")])) == [("k", "empty")]
    assert problems(MultiDict([("name", "x"), ("k", "3"), ("k", "9")])) == [("k", "given more than once")]
    with pytest.raises(ValidationError) as info:
        parse(SPECS, MultiDict([("name", "x"), ("tags", "a"), ("tags", "b")]), settings=SETTINGS)
    assert info.value.problems[0].value == ["a", "b"]


def test_the_maximum_is_read_from_the_settings():
    assert parse((K,), {"k": "7"}, settings=load_settings({"max_k": 7}, environ={}))["k"] == 7
    assert parse((K,), {"k": "150"}, settings=load_settings({"max_k": 200}, environ={}))["k"] == 150
    with pytest.raises(ValidationError, match="an integer from 1 to 7"):
        parse((K,), {"k": "8"}, settings=load_settings({"max_k": 7}, environ={}))
    with pytest.raises(ValueError, match="max_k"):
        parse((K,), {"k": "3"})  # a setting's limit without settings: a programming error, said plainly
    assert json_schema(K, load_settings({"max_k": 42}, environ={}))["maximum"] == 42


@pytest.mark.parametrize("raw,value", [("12", 12.0), ("-1.5", None), ("2e2", 200.0), ("1E+2", 100.0), ("0.000", 0.0),
                                       ("007", 7.0)])
def test_numbers_as_json_writes_them(raw, value):
    if value is None:
        assert problems({"name": "x", "d": raw}) == [("d", "out of range")]
    else:
        assert parse(SPECS, {"name": "x", "d": raw}, settings=SETTINGS)["d"] == value


@pytest.mark.parametrize("raw,reason", [("nan", "not a finite number"), ("-inf", "not a finite number"),
                                        ("1_0", "not a number as JSON writes it (e.g. -12.5, 3e2)"),
                                        (" 5", "not a number as JSON writes it (e.g. -12.5, 3e2)"),
                                        ("٥", "not a number as JSON writes it (e.g. -12.5, 3e2)"),
                                        ("0x10", "not a number"), ("5.", "not a number as JSON writes it (e.g. -12.5, 3e2)"),
                                        ("1e999", "not a finite number")])
def test_other_spellings_of_numbers_are_refused(raw, reason):
    assert problems({"name": "x", "d": raw}) == [("d", reason)]


@pytest.mark.parametrize("raw", ["+5", "5.0", "٥", "5_0", " 5", "1e1"])
def test_integers_are_ascii_digits(raw):
    assert problems({"name": "x", "k": raw}) == [("k", "not an integer")]


def test_booleans_are_true_or_false():
    assert parse(SPECS, {"name": "x", "flag": "false"}, settings=SETTINGS)["flag"] is False
    for raw in ("1", "yes", "True", "TRUE"):
        assert problems({"name": "x", "flag": raw}) == [("flag", "not a boolean")]


def test_lists_are_comma_separated_known_items_each_once():
    assert parse(SPECS, {"name": "x", "tags": "c,a"}, settings=SETTINGS)["tags"] == ["c", "a"]
    assert problems({"name": "x", "tags": "a,,b"}) == [("tags", "has an empty item")]
    assert problems({"name": "x", "tags": "a,"}) == [("tags", "has an empty item")]
    assert problems({"name": "x", "tags": "a,a"}) == [("tags", "an item is given twice")]
    assert problems({"name": "x", "tags": "a,z,y"}) == [("tags", "not an allowed value")] * 2
    assert problems({"name": "x", "tags": " a"}) == [("tags", "not an allowed value")]


@pytest.mark.parametrize("raw,want", [
    ("2026-11-22T21:30:00+08:00", dt.datetime(2026, 11, 22, 13, 30, tzinfo=dt.timezone.utc)),
    ("2026-11-22T13:30Z", dt.datetime(2026, 11, 22, 13, 30, tzinfo=dt.timezone.utc)),
    ("2026-11-22T21:30", dt.datetime(2026, 11, 22, 13, 30, tzinfo=dt.timezone.utc)),  # Asia/Shanghai
    ("2026-11-22T21:30 08:00", dt.datetime(2026, 11, 22, 13, 30, tzinfo=dt.timezone.utc)),  # an unencoded "+"
    ("2026-11-22T21:30:00.25+0800", dt.datetime(2026, 11, 22, 13, 30, 0, 250000, tzinfo=dt.timezone.utc)),
    ("1970-01-01T00:00:00+08:00", dt.datetime(1969, 12, 31, 16, tzinfo=dt.timezone.utc)),
    ("2099-12-31T23:59:59-23:59", dt.datetime(2100, 1, 1, 23, 58, 59, tzinfo=dt.timezone.utc)),
])
def test_date_times(raw, want):
    assert parse((AT,), {"at": raw})["at"] == want


@pytest.mark.parametrize("raw,reason", [
    ("0001-01-01T00:00:00+08:00", "the year 1 is outside 1970 to 2099"),
    ("9999-12-31T23:59:59-08:00", "the year 9999 is outside 1970 to 2099"),
    ("2026-02-30T10:00", "no such date"),
    ("2026-11-22", "not an RFC 3339 date-time"),
    ("2026-11-22 21:30", "not an RFC 3339 date-time"),
    ("2026-11-22T24:00", "not a date-time"),
    ("tomorrow", "not a date-time"),
    ("2026-11-22T21:30:00+08:00\n", "not a date-time"),
])
def test_other_date_times_are_refused(raw, reason):
    assert problems({"at": raw}, (AT,)) == [("at", reason)]


def test_boxes():
    assert parse((BOX,), {"bbox": "119,39.5,120,40"})["bbox"] == (119.0, 39.5, 120.0, 40.0)
    assert problems({"bbox": "119,39.5,120"}, (BOX,)) == [("bbox", "not four numbers")]
    assert problems({"bbox": "120,39,119,40"}, (BOX,))[0][1].startswith("not a valid box")


def test_long_values_are_refused():
    assert problems({"name": "x" * 201}) == [("name", "longer than 200 characters")]
    assert parse(SPECS, {"name": "昌" * 200}, settings=SETTINGS)["name"] == "昌" * 200


def test_json_members_have_json_types():
    specs = (K, DIST, FLAG, AT, TAGS)
    assert parse_json(specs, {"k": 3, "d": 2, "flag": True, "at": "2026-11-22T21:30Z", "tags": []},
                      settings=SETTINGS) == {"k": 3, "d": 2.0, "flag": True,
                                             "at": dt.datetime(2026, 11, 22, 21, 30, tzinfo=dt.timezone.utc),
                                             "tags": []}
    assert parse_json(specs, {"k": None}, settings=SETTINGS)["k"] == 5  # null: left out

    def json_problems(doc):
        with pytest.raises(ValidationError) as info:
            parse_json(specs, doc, settings=SETTINGS, prefix="p.")
        return [(p.field, p.reason) for p in info.value.problems]

    assert json_problems({"k": "3"}) == [("p.k", "not a JSON number")]
    assert json_problems({"k": [5]}) == [("p.k", "not a JSON number")]
    assert json_problems({"k": True}) == [("p.k", "not a JSON number")]
    assert json_problems({"k": 2.0}) == [("p.k", "not an integer")]
    assert json_problems({"d": 2 ** 65}) == [("p.d", "out of range")]
    assert json_problems({"flag": "true"}) == [("p.flag", "not true or false")]
    assert json_problems({"tags": [None]}) == [("p.tags", "not a list of strings")]
    assert json_problems({"tags": "a,b"}) == [("p.tags", "not a list of strings")]
    assert json_problems({"at": 1}) == [("p.at", "not a string")]
    assert json_problems({"at": "0001-01-01T00:00+08:00"}) == [("p.at", "the year 1 is outside 1970 to 2099")]
    assert json_problems({"x": {"deep": [1]}}) == [("p.x", "unknown field")]


@settings(max_examples=300, deadline=None)
@given(st.from_regex(DATETIME_PATTERN, fullmatch=True))  # fullmatch: "$" as JSON Schema (ECMA-262) reads it
def test_every_date_time_the_document_allows_is_read_or_is_no_such_date(raw):
    """The pattern is the document's; the server reads each value it allows (or names a day the calendar lacks)."""
    try:
        value = parse((AT,), {"at": raw})["at"]
    except ValidationError as exc:
        assert [p.reason for p in exc.problems] == ["no such date"], raw
        return
    assert 1969 <= value.astimezone(dt.timezone.utc).year <= 2100
