"""NodeInfo 2.1 documents."""

from __future__ import annotations

from federation.nodeinfo import nodeinfo, well_known


def test_well_known() -> None:
    assert well_known("https://hq.test/") == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": "https://hq.test/nodeinfo/2.1",
            }
        ]
    }


def test_nodeinfo() -> None:
    doc = nodeinfo(
        version="0.1.0",
        users_total=10,
        users_active_month=5,
        users_active_halfyear=7,
        local_posts=42,
        metadata={"nodeName": "HQ"},
    )
    assert doc["version"] == "2.1"
    assert doc["software"] == {"name": "plein", "version": "0.1.0"}
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["openRegistrations"] is False
    assert doc["usage"] == {
        "users": {"total": 10, "activeMonth": 5, "activeHalfyear": 7},
        "localPosts": 42,
    }
    assert doc["metadata"] == {"nodeName": "HQ"}
