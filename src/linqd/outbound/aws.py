"""botocore's requests sent through a guarded httpx client (the ``s3`` destination).

botocore connects with urllib3, beyond the policy's reach; its ``before-send`` event lets a
handler answer a request itself (moto intercepts requests the same way). ``route_through``
registers a handler that sends each signed, prepared request with the given client
(``http.guarded_client``) and hands botocore the answer, so the endpoint, AWS's regional
endpoints and every retry are judged at connect time. httpx failures become botocore's own
connection errors, so its retry rules still apply and error texts read as before. Answers are
read into memory, at most 1 MiB (S3 answers a PUT in a few hundred bytes).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

MAX_RESPONSE_BYTES = 1_048_576
# The body goes out whole with its length, at once: no chunked framing, no 100-continue wait.
_DROPPED_HEADERS = frozenset({"expect", "transfer-encoding"})


class _Body(io.BytesIO):
    """A response body as botocore reads it (``stream()``, or ``read()`` for streaming)."""

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self.getvalue()


def route_through(events: Any, client: httpx.Client) -> None:
    """Send every request of a boto3 client (``client.meta.events``) with ``client``."""
    events.register("before-send", partial(_send, client))


def _send(client: httpx.Client, request: Any, **_: object) -> AWSResponse:
    body = request.body
    if body is not None and not isinstance(body, bytes | bytearray | str):
        body = body.read()  # a file-like body; botocore rewinds it before a retry
    headers = [
        (name, value)
        for name, value in request.headers.items()
        if name.lower() not in _DROPPED_HEADERS
    ]
    if not any(name.lower() == "accept-encoding" for name, _ in headers):
        # botocore reads bodies as sent (urllib3 with decode_content=False): ask for them so.
        headers.append(("Accept-Encoding", "identity"))
    url = request.url
    try:
        with client.stream(request.method, url, content=body, headers=headers) as response:
            content = _read(response)
    except httpx.ConnectTimeout as exc:
        raise ConnectTimeoutError(endpoint_url=url, error=exc) from None
    except httpx.ConnectError as exc:
        raise EndpointConnectionError(endpoint_url=url, error=exc) from None
    except httpx.TimeoutException as exc:
        raise ReadTimeoutError(endpoint_url=url, error=exc) from None
    except httpx.HTTPError as exc:
        raise HTTPClientError(error=exc) from None
    return AWSResponse(url, response.status_code, dict(response.headers), _Body(content))


def _read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise HTTPClientError(error=f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
