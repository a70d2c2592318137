"""The package's public face, its import boundary and its metrics."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import grimp
import pytest
from prometheus_client import CollectorRegistry, generate_latest

import qfzz
import qfzz.cache
from qfzz.cache import CacheCollector, CacheServices, Command, TrackCache, open_cache

SRC = Path(qfzz.__file__).parent


def test_the_public_names_are_sorted_and_deliberate():
    names = qfzz.cache.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(qfzz.cache, name)
    assert {"open_cache", "Cache", "CacheServices", "TrackCache"} <= set(names)
    assert not any(name.startswith("_") for name in names)


def test_only_the_cache_package_imports_redis():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "cache"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            if any(m == "redis" or m.startswith("redis.") for m in modules):
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def test_private_modules_stay_small():
    for path in (SRC / "cache").glob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path.name


def test_the_prometheus_collector_exposes_hits_latency_and_circuit(clock):
    cache = open_cache(None, clock=clock)
    tracks = TrackCache(cache)
    tracks.get(1, lambda i: None)
    tracks.get(1, lambda i: None)
    registry = CollectorRegistry()
    registry.register(CacheCollector(cache))
    text = generate_latest(registry).decode()
    assert 'qfzz_cache_hits_total{namespace="track"} 1.0' in text
    assert 'qfzz_cache_misses_total{namespace="track"} 1.0' in text
    assert 'qfzz_cache_lookup_seconds_count{namespace="track"} 2.0' in text
    assert 'qfzz_cache_circuit_state{state="closed"} 1.0' in text


def test_services_bundle_builds_every_service(clock):
    services = CacheServices.build(open_cache(None, clock=clock))
    assert services.namespaces == (
        "jobprogress",
        "playlist",
        "search",
        "session",
        "track",
    )


def test_no_module_of_the_cache_or_the_jobs_is_part_of_an_import_cycle():
    graph = grimp.build_graph("qfzz")
    for package in ("qfzz.cache", "qfzz.jobs"):
        modules = sorted(graph.find_descendants(package) | {package})
        for a, b in itertools.combinations(modules, 2):
            if graph.chain_exists(a, b) and graph.chain_exists(b, a):
                pytest.fail(f"{a} ↔ {b}: {graph.find_shortest_chain(a, b)} and back")


def test_no_package_imports_a_private_module_of_the_cache_or_the_jobs():
    graph = grimp.build_graph("qfzz")
    for package in ("qfzz.cache", "qfzz.jobs"):
        for module in graph.find_descendants(package):
            if module.split(".")[2].startswith("_"):
                for importer in graph.find_modules_that_directly_import(module):
                    inside = importer == package or importer.startswith(package + ".")
                    assert inside, f"{importer} imports {module}"


def test_both_backends_answer_the_command_vocabulary_alike(make_cache):
    cache = make_cache()
    one, two = cache.keys.key("track", 1), cache.keys.key("track", 2)
    replies = cache.backend.execute(
        [
            Command("SET", one, (b"a",), 60.0),
            Command("GET", one),
            Command("MGET", one, (two,)),
            Command("DEL", one, (two,)),
            Command("GET", one),
            Command("PUBLISH", cache.keys.channel, (b"{}",)),
        ]
    )
    assert replies[:5] == [True, b"a", [b"a", None], 1, None]
    assert isinstance(replies[5], int)  # how many subscribers heard it
