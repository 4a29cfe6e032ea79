"""canary_cover: the fewest canary hosts on which every kind of host and every update runs first.

Property tests over seeded random fleets (plain random: no extra dependency): every covered
combination really is on a canary host, the rules hold, and for small fleets no smaller set
covers as much (checked here by brute force, independently of the module's own search).
"""

import itertools
import random

import pytest

from ansible_collections.patchpilot.fleet.plugins.module_utils import canary_cover as cc

DIMS = ["release", "role", "updates"]


def fleet_host(name, release, role, updates):
    return {"host": name, "attributes": {"release": release, "role": role}, "updates": list(updates)}


LAB = [fleet_host("web01", "11", "web", ["pplab-web", "pplab-seclib"]),
       fleet_host("db01", "12", "db", ["pplab-db", "pplab-seclib"]),
       fleet_host("app01", "13", "app", ["pplab-app", "pplab-trixie-only"]),
       fleet_host("web02", "11", "web", ["pplab-web"]),
       fleet_host("db02", "12", "db", ["pplab-db"])]


def test_the_lab_fleet_is_covered_by_one_host_of_each_kind():
    found = cc.choose(LAB, DIMS)
    assert found["hosts"] == ["app01", "db01", "web01"] and found["method"] == "exact" and not found["uncovered"]
    assert found["covered_by"]["update pplab-trixie-only"] == "app01"
    assert found["covered_by"]["release 12, role db"] == "db01"


def test_named_hosts_are_always_in_and_the_cover_adds_what_they_miss():
    found = cc.choose(LAB, DIMS, required=["web02"])
    assert found["hosts"] == ["app01", "db01", "web02"] and not found["uncovered"]


def test_an_excluded_host_leaves_what_only_it_has_uncovered_with_the_reason():
    found = cc.choose(LAB, DIMS, excluded={"app01": "criticality high: critical hosts stay out of the canary"})
    assert "app01" not in found["hosts"]
    items = {u["item"]: u for u in found["uncovered"]}
    assert set(items) == {"release 13, role app", "update pplab-app", "update pplab-trixie-only"}
    assert items["update pplab-trixie-only"]["reason"].startswith("only on hosts kept out of the canary (app01: ")
    assert items["update pplab-trixie-only"]["hosts"] == ["app01"]


def test_max_caps_the_canary_and_says_so():
    found = cc.choose(LAB, DIMS, cap=2)
    assert len(found["hosts"]) == 2 and found["uncovered"]
    assert all(u["reason"] == "rollout.canary.max is 2" for u in found["uncovered"])


def test_anti_affinity_keeps_a_group_to_its_cap():
    group = {"web01", "web02", "db01", "db02"}
    found = cc.choose(LAB, DIMS, groups=[(group, 1)])
    assert len(group & set(found["hosts"])) == 1
    assert any("anti-affinity" in u["reason"] for u in found["uncovered"])


@pytest.mark.parametrize("kwargs, message", [
    ({"dimensions": []}, "name at least one"),
    ({"dimensions": DIMS, "cap": 0}, "rollout.canary.max"),
    ({"dimensions": DIMS, "required": ["ghost"]}, "ghost not among the hosts to patch"),
])
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(cc.CoverError, match=message):
        cc.choose(LAB, **kwargs)


def random_fleet(rng, size):
    updates = [f"pkg{i}" for i in range(rng.randint(1, 8))]
    return [fleet_host(f"h{i:02d}", rng.choice(["11", "12", "13"]), rng.choice(["web", "db", "app"]),
                       rng.sample(updates, rng.randint(0, len(updates)))) for i in range(size)]


def brute_force(hosts, dims, excluded, groups, cap):
    """(most coverable, smallest size achieving it), by trying every set."""
    covers = {h["host"]: cc.items_of(h, dims) for h in hosts}
    allowed = [h["host"] for h in hosts if h["host"] not in excluded]
    best = (-1, None)
    for size in range(0, len(allowed) + 1):
        if cap is not None and size > cap:
            break
        for chosen in itertools.combinations(allowed, size):
            if any(len(members & set(chosen)) > limit for members, limit in groups):
                continue
            covered = len(set().union(*(covers[h] for h in chosen))) if chosen else 0
            if covered > best[0]:
                best = (covered, size)
    return best


@pytest.mark.parametrize("seed", range(120))
def test_property_small_fleets_every_item_covered_and_no_smaller_set_exists(seed):
    rng = random.Random(seed)
    hosts = random_fleet(rng, rng.randint(1, 9))
    dims = rng.choice([DIMS, ["release"], ["role", "updates"], ["updates"]])
    names = [h["host"] for h in hosts]
    excluded = {h: "kept out" for h in rng.sample(names, rng.randint(0, len(names) // 3))}
    groups = [(set(rng.sample(names, min(len(names), 3))), 1)] if rng.random() < 0.4 else []
    cap = rng.choice([None, None, 2, 3])
    found = cc.choose(hosts, dims, excluded=excluded, groups=groups, cap=cap)
    chosen = set(found["hosts"])
    covers = {h["host"]: cc.items_of(h, dims) for h in hosts}
    covered = set().union(*(covers[h] for h in chosen)) if chosen else set()
    # the rules hold
    assert not chosen & set(excluded) and (cap is None or len(chosen) <= cap)
    assert all(len(members & chosen) <= limit for members, limit in groups)
    # every item it claims covered is on the canary host it names; every other item is listed uncovered
    for item_text, host in found["covered_by"].items():
        assert host in chosen and any(cc._text(item) == item_text for item in covers[host])
    everything = set().union(*covers.values()) if covers else set()
    assert {u["item"] for u in found["uncovered"]} == {cc._text(i) for i in everything - covered}
    # as much as any allowed set covers, with as few hosts as any such set
    most, fewest = brute_force(hosts, dims, excluded, groups, cap)
    assert (len(covered), len(chosen)) == (most, fewest), (hosts, dims, excluded, groups, cap, found)


@pytest.mark.parametrize("seed", range(20))
def test_property_large_fleets_greedy_covers_everything_reachable(seed):
    rng = random.Random(1000 + seed)
    hosts = random_fleet(rng, rng.randint(cc.EXACT_LIMIT + 1, 60))
    found = cc.choose(hosts, DIMS)
    assert found["method"] == "greedy" and not found["uncovered"]
    # every claimed item is on the host named for it
    covers = {h["host"]: cc.items_of(h, DIMS) for h in hosts}
    for item_text, host in found["covered_by"].items():
        assert any(cc._text(item) == item_text for item in covers[host])
