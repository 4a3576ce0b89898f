"""The real server process keeps request-named connections off its own host by default: a
webhook aimed at the server's own port is refused, by address at once and by name when sent."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import httpx

from .conftest import LiveServer

METHODS = "/delco/methods"


def test_a_webhook_to_the_servers_own_port_is_refused(live: LiveServer) -> None:
    port = urlsplit(live.url).port
    headers = {"standAloneToken": live.credentials["standAloneToken"]}
    trust = ssl.create_default_context(cafile=str(live.ca))
    with httpx.Client(base_url=live.url, verify=trust, headers=headers) as client:
        own = {"name": "own port", "type": "httpjson", "config": {"url": f"{live.url}/health"}}
        refused = client.post(METHODS, json=own)
        assert refused.status_code == 400
        assert refused.json()["context"] == {"field": "config.url"}
        assert refused.json()["msg"] == (
            "config.url: Address 127.0.0.1 is not allowed for outbound connections"
        )
        by_name = {**own, "config": {"url": f"https://localhost:{port}/health"}}
        created = client.post(METHODS, json=by_name)
        assert created.status_code == 200, created.text
        sent = client.post(f"{METHODS}/{created.json()['id']}/send-validation-code")
        assert sent.status_code == 400
        assert sent.json()["msg"] == (
            "The validation code was not delivered: Address 127.0.0.1 (of host localhost) "
            "is not allowed for outbound connections"
        )
        client.delete(f"{METHODS}/{created.json()['id']}")
