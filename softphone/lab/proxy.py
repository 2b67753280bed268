"""Placeholder forking proxy (replaced by the real one): answers 501 to everything but ACK."""

from __future__ import annotations

from typing import TYPE_CHECKING

from softphone.lab.registrar import Source
from softphone.lab.transport import Address
from softphone.sip.build import make_response
from softphone.sip.message import SipRequest, SipResponse

if TYPE_CHECKING:
    from softphone.lab.server import LabServer


class ForkingProxy:
    def __init__(self, server: LabServer) -> None:
        self.server = server

    def on_request(self, request: SipRequest, source: Source, local: Address) -> None:
        if request.method != "ACK":
            self.server.send_response(make_response(request, 501), source, local)

    def on_response(self, response: SipResponse, source: Source, local: Address) -> None:
        pass
