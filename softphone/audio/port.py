"""The bridge's conference port: an AudioMediaPort whose callbacks move frames to and from
the jitter buffers with as little Python as possible.

pjmedia's conference clock thread (the null device, engine-notes §1) calls
`onFrameRequested` for the microphone audio we send into the bridge and `onFrameReceived`
with what the bridge mixed for us (the speaker). Those callbacks must be real-time safe, and
every SWIG call inside them releases the GIL and has to win it back against a busy UI thread:
with the naive code the port collapsed to 12 frames/s (§5). So:

* received frames are read with ctypes straight out of the `MediaFrame` (its `type` int at
  offset 0, the `std::vector` [begin, end, cap] at offset 8, libstdc++ layout; §5 measured
  ~3 µs against 350-430 µs for `bytes(frame.buf)`), with no SWIG call at all;
* requested frames are copied into a preallocated ByteVector through a ctypes view (no GIL
  release: `.raw =` is a plain memcpy) and handed over with one SWIG assignment, plus the frame
  type written through ctypes;
* the layout is checked once on a MediaFrame of our own; if it ever differs (another C++
  library), the port falls back to the SWIG accessors: slower, still correct;
* no other pjsua2 call, no allocation beyond the frame's bytes, no lock, never an exception
  into SWIG (it would keep the port alive in sys.last_traceback and abort at exit, §1, §2).

Destroying a port while the clock runs segfaulted when left to the garbage collector (§5);
`destroy` does it the safe way, on the engine thread.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import time
from typing import Any

import pjsua2 as pj

from softphone.audio.jitter import JitterBuffer
from softphone.audio.pcm import FRAME_BYTES, FRAME_MS, RATE, SILENCE

AUDIO = int(pj.PJMEDIA_FRAME_TYPE_AUDIO)
_VECTOR_OFFSET = 8  # MediaFrame { pjmedia_frame_type type; ByteVector buf; unsigned size; }
_INTERVALS = 1024  # onFrameRequested intervals kept for jitter figures (a power of two)
_c_int = ctypes.c_int
_c_void_p = ctypes.c_void_p
_string_at = ctypes.string_at


def fast_layout_ok() -> bool:
    """Whether MediaFrame has the layout the ctypes fast path assumes (checked on a frame we
    own, outside any callback)."""
    frame = pj.MediaFrame()
    frame.type = AUDIO
    frame.buf = pj.ByteVector(b"\x01\x02\x03")
    frame.size = 3
    address = int(frame.this)
    begin = _c_void_p.from_address(address + _VECTOR_OFFSET).value
    end = _c_void_p.from_address(address + _VECTOR_OFFSET + 8).value
    return (
        _c_int.from_address(address).value == AUDIO
        and begin is not None
        and end is not None
        and _string_at(begin, end - begin) == b"\x01\x02\x03"
    )


class BridgePort(pj.AudioMediaPort):  # type: ignore[misc]
    """Microphone buffer → bridge, bridge → speaker buffer. `live` is set by the engine
    thread while sound-card streams run; otherwise the port sends silence and drops what it
    receives (nobody would take it out of the playback buffer)."""

    def __init__(self, capture: JitterBuffer, playback: JitterBuffer) -> None:
        super().__init__()
        self.capture = capture
        self.playback = playback
        self.live = False
        self.fast = fast_layout_ok()
        self._vec = pj.ByteVector(FRAME_BYTES)
        self._silence = pj.ByteVector(FRAME_BYTES)
        begin = _c_void_p.from_address(int(self._vec.this)).value
        if begin is None:
            raise RuntimeError("pjsua2 gave an empty ByteVector for a 640-byte frame")
        self._view = (ctypes.c_char * FRAME_BYTES).from_address(begin)
        self.requested = 0
        self.received = 0
        self.errors = 0
        self._intervals = array.array("d", bytes(8 * _INTERVALS))
        self._last = 0.0
        self._n = 0  # intervals measured

    def create(self, name: str = "softphone-sound") -> None:
        """Register with the conference bridge (engine thread, after libStart)."""
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, RATE, 1, FRAME_MS * 1000, 16)
        self.createPort(name, fmt)

    # -- conference clock thread --------------------------------------------------------

    def onFrameRequested(self, frame: Any) -> None:
        try:
            now = time.perf_counter()
            if self._last:
                self._intervals[self._n & (_INTERVALS - 1)] = now - self._last
                self._n += 1
            self._last = now
            self.requested += 1
            data = self.capture.pull() if self.live else None
            if data is None:
                vec = self._silence
            else:
                self._view.raw = data
                vec = self._vec
            if self.fast:
                _c_int.from_address(int(frame.this)).value = AUDIO
            else:
                frame.type = AUDIO
            frame.buf = vec  # one SWIG call: pjsua2 copies the vector
        except Exception:
            self.errors += 1

    def onFrameReceived(self, frame: Any) -> None:
        try:
            if not self.live:
                return  # nobody takes frames out of the playback buffer now
            if self.fast:
                address = int(frame.this)
                kind = _c_int.from_address(address).value
                begin = _c_void_p.from_address(address + _VECTOR_OFFSET).value
                end = _c_void_p.from_address(address + _VECTOR_OFFSET + 8).value
                data = _string_at(begin, end - begin) if kind == AUDIO and begin and end else b""
            else:
                data = bytes(frame.buf) if frame.type == AUDIO else b""
            # A heart-beat frame (type NONE: no call is sending to us right now, §5) still
            # marks a tick of the bridge clock, so it becomes silence: the playback buffer
            # then follows the bridge clock, not whether anyone talks.
            self.received += 1
            self.playback.push(data if len(data) == FRAME_BYTES else SILENCE)
        except Exception:
            self.errors += 1

    # -- figures (any thread) -------------------------------------------------------------

    def intervals_ms(self) -> list[float]:
        """The most recent onFrameRequested intervals (up to 1024), in ms."""
        return [v * 1000 for v in self._intervals[: min(self._n, _INTERVALS)]]

    def reset_intervals(self) -> None:
        self._n = 0
        self._last = 0.0


def destroy(port: BridgePort, endpoint: Any) -> None:
    """Disconnect and delete the port on the engine thread (§5, "safe, 80/80 cycles"):
    stopTransmit every connection, then delete the C++ object while the Python object is
    still whole; the caller drops its reference afterwards."""
    port.live = False
    with contextlib.suppress(pj.Error):
        mine = port.getPortId()
        for media in endpoint.mediaEnumPorts2():
            other = media.getPortId()
            if other == mine:
                continue
            if mine in media.getPortInfo().listeners:
                media.stopTransmit(port)
            if other in port.getPortInfo().listeners:
                port.stopTransmit(media)
    port.this.disown()
    pj._pjsua2.delete_AudioMediaPort(port)
