"""Retention selection (plugins/module_utils/_gc.py) and the backup comparison (_backup.py): pure functions."""

import datetime

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _backup, _gc
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError

NOW = datetime.datetime(2026, 11, 29, tzinfo=datetime.timezone.utc)


def day(n):
    """n days before NOW."""
    return NOW - datetime.timedelta(days=n)


def entries(*specs):
    return [{"tag": tag, "digest": digest or "sha256:" + tag * 4, "created": created}
            for tag, created, digest in ((s + (None,))[:3] for s in specs)]


@pytest.mark.parametrize("value, expected", [
    ("2026-01-02T03:04:05Z", datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    ("2026-01-02T03:04:05.123456789Z", datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)),
    ("2026-01-02T05:04:05+02:00", datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    ("2026-01-02T03:04:05", datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    ("", None), (None, None), ("yesterday", None), (12, None),
])
def test_parse_created(value, expected):
    assert _gc.parse_created(value) == expected


@pytest.mark.parametrize("retention, match, gone", [
    # keep the 2 newest
    ({"keep_tags": 2, "max_age_days": None}, "any", ["a", "b"]),
    # max age only: older than 10 days go
    ({"keep_tags": None, "max_age_days": 10}, "any", ["a", "b", "c"]),
    ({"keep_tags": None, "max_age_days": 35}, "any", ["a"]),
    # either rule keeps a tag: the newest one, or those younger than 20 days
    ({"keep_tags": 1, "max_age_days": 20}, "any", ["a", "b"]),
    ({"keep_tags": 3, "max_age_days": 10}, "any", ["a"]),
    # both rules must keep
    ({"keep_tags": 3, "max_age_days": 10}, "all", ["a", "b", "c"]),
    ({"keep_tags": 0, "max_age_days": None}, "any", ["a", "b", "c", "d"]),
])
def test_select_expired(retention, match, gone):
    tags = entries(("a", day(40)), ("b", day(30)), ("c", day(15)), ("d", day(1)))
    expired, kept = _gc.select_expired(tags, retention, NOW, match)
    assert [e["tag"] for e in expired] == gone
    assert sorted(e["tag"] for e in kept) == sorted(set("abcd") - set(gone))
    assert all(e["reason"] for e in expired + kept)


def test_undated_tags_are_kept_and_not_counted():
    tags = entries(("old", day(100)), ("art", None), ("new", day(1)))
    expired, kept = _gc.select_expired(tags, {"keep_tags": 1, "max_age_days": None}, NOW)
    assert [e["tag"] for e in expired] == ["old"]
    assert {e["tag"]: e["reason"] for e in kept}["art"] == "no creation date"


def test_a_digest_shared_with_a_kept_tag_is_kept():
    tags = entries(("old", day(100), "sha256:same"), ("latest", day(1), "sha256:same"), ("older", day(200)))
    expired, kept = _gc.select_expired(tags, {"keep_tags": 1, "max_age_days": None}, NOW)
    assert [e["tag"] for e in expired] == ["older"]
    assert {e["tag"]: e["reason"] for e in kept}["old"] == "shares its digest with tag latest, which stays"


def test_no_retention_keeps_everything():
    tags = entries(("a", day(1000)))
    assert _gc.select_expired(tags, None, NOW) == ([], [dict(tags[0], reason="no retention")])


@pytest.mark.parametrize("retention, problem", [
    ("3", "must be a mapping"),
    ({"keep_tags": -1}, "keep_tags must be a whole number"),
    ({"keep_tags": True}, "keep_tags must be a whole number"),
    ({"max_age_days": 1.5}, "max_age_days must be a whole number"),
    ({"keep": 3}, "unknown keys keep"),
])
def test_check_retention_refuses(retention, problem):
    with pytest.raises(InvalidParameterError, match=problem):
        _gc.check_retention(retention)


def test_check_retention_normalizes():
    assert _gc.check_retention({"keep_tags": 3}) == {"keep_tags": 3, "max_age_days": None}
    assert _gc.check_retention({}) is None
    assert _gc.check_retention(None) is None


def test_select_expired_refuses_an_unknown_match():
    with pytest.raises(InvalidParameterError, match="match must be one of any, all"):
        _gc.select_expired([], {"keep_tags": 1, "max_age_days": None}, NOW, "most")


@pytest.mark.parametrize("repository, expected", [
    ("team", "team"), ("team/app", "team"), ("team/sub/app", "team/sub"), ("teams/app", None), ("other", None),
])
def test_namespace_for_takes_the_deepest(repository, expected):
    namespaces = [{"name": "team"}, {"name": "team/sub"}]
    found = _gc.namespace_for(repository, namespaces)
    assert (found or {}).get("name") == expected


def test_check_namespaces_skips_absent_and_needs_names():
    out = _gc.check_namespaces([{"name": "a", "retention": {"keep_tags": 2}, "policies": []},
                                {"name": "b", "state": "absent", "retention": {"keep_tags": 1}}])
    assert out == [{"name": "a", "retention": {"keep_tags": 2, "max_age_days": None}}]
    with pytest.raises(InvalidParameterError, match=r"namespaces\[0\] needs a name"):
        _gc.check_namespaces([{"retention": {}}])


def test_untagged_refusal_names_the_indexes_and_says_why():
    message = _gc.untagged_refusal(["a/b:multi"], force=False)
    assert "a/b:multi" in message and "platform manifests of a multi-arch image" in message
    assert "force_delete_untagged=true" in message
    assert _gc.untagged_refusal(["a/b:multi"], force=True) is None
    assert _gc.untagged_refusal([], force=False) is None


def test_compare_names_every_difference():
    expected = {"a": {"1": "sha256:1", "2": "sha256:2"}, "b": {"x": "sha256:x"}}
    actual = {"a": {"1": "sha256:1", "2": "sha256:9", "3": "sha256:3"}}
    assert _backup.compare(expected, actual) == [
        "a:2 resolves to sha256:9, expected sha256:2", "b:x is missing (expected sha256:x)"]
    assert _backup.compare(expected, actual, extra_ok=False)[-1] == "a:3 was not expected (sha256:3)"
    assert _backup.compare(expected, {"a": {"1": "sha256:1", "2": "sha256:2"}, "b": {"x": "sha256:x"}}) == []
    assert _backup.counts(expected) == {"repositories": 2, "tags": 3}


def test_check_expected_refuses_bad_shapes():
    with pytest.raises(InvalidParameterError):
        _backup.check_expected({"a": ["sha256:1"]})
    with pytest.raises(InvalidParameterError):
        _backup.check_expected({"a": {"t": "nodigest"}})


# oci_gc on Harbor runs against the Harbor double: tests/unit/harbor/test_harbor_upstream_behaviours.py
