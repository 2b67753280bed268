"""The sans-IO SIP core: messages, URIs, digest, transactions, traces (no sockets, no threads)."""

from softphone._speedups import extend_path

__path__ = extend_path(__path__, __name__)
