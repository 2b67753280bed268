"""The lab: registrar, forking proxy and emulators, asyncio around pure logic."""

from softphone._speedups import extend_path

__path__ = extend_path(__path__, __name__)
