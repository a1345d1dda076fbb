"""Fixtures for the engine tests: the Chromium engine (warm, shared), the allowed site, the spy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.rendering.servers import Site, Spy

needs_chromium = pytest.mark.skipif(
    not Path(django_settings.CHROMIUM_PATH).exists(),
    reason="needs Debian's chromium: apt-get install -y chromium",
)


@pytest.fixture(scope="session")
def chromium_engine() -> Iterator[Any]:
    from rendering.engines.chromium import ENGINE

    yield ENGINE
    ENGINE.shutdown()


@pytest.fixture
def chromium(chromium_engine: Any) -> Any:
    """The engine, with its browser as the previous test left it (warm)."""
    return chromium_engine


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site("127.0.0.2")
    yield server
    server.close()


@pytest.fixture
def spy() -> Iterator[Spy]:
    listener = Spy()
    yield listener
    listener.close()


@pytest.fixture
def only_127_0_0_2(settings: Any) -> None:
    """Renderers and other outbound requests may reach 127.0.0.2 and nothing else private."""
    allowed = [ipaddress.ip_network("127.0.0.2/32")]
    settings.RENDERER_ALLOWED_NETWORKS = allowed
    settings.OUTBOUND_ALLOWED_NETWORKS = allowed
