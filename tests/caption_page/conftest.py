"""A real caption page server on 127.0.0.1 (port 0) per test, always stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from captioner.caption_page import CaptionPageServer

MakeServer = Callable[..., CaptionPageServer]


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    started: list[CaptionPageServer] = []

    def make(**kwargs: Any) -> CaptionPageServer:
        server = CaptionPageServer(**kwargs)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: MakeServer) -> CaptionPageServer:
    return make_server()
