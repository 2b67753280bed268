"""Audio seams of the engine: the sound-device bridge (later) and per-call WAV files.

The Linux pjsua2 wheel has no sound-device backend (engine-notes §0), so the engine always runs
the conference bridge on the null device (`setNullDev`, which keeps the clock ticking; §4) and
real audio comes from a bridge object supplied by `softphone.audio`: an `AudioBridge` creates
its AudioMediaPort(s) on the engine thread, is told when a call's audio goes live or away, and
is closed before libDestroy (ports must be destroyed explicitly, §5/§10.6). A call's
connections vanish with its conference port when the call ends, so there is no disconnect step.
Without a bridge, the null device's silence is wired to each call (a call port with no source
only gets heart-beat frames, and then pjmedia sent only 5 digits of a DTMF string), and WAV
players and recorders can be attached with `play`/`record`.
"""

from __future__ import annotations

from typing import Any, Protocol

import pjsua2 as pj


class AudioBridge(Protocol):
    """Connects calls to real audio. Every method runs on the engine thread."""

    def open(self, endpoint: Any) -> None:
        """Create the bridge's media ports (after libStart)."""

    def connect(self, call_audio: Any) -> None:
        """A call's AudioMedia became active: wire microphone → call and call → speaker."""

    def close(self) -> None:
        """Stop transmitting and destroy the ports; called before libDestroy."""


# Optional AudioBridge methods, looked up with getattr (a bridge without them still fits):
#   observe(event)   every event, on the engine thread, just before the sink gets it (a bridge
#                    learns which calls ring, have audio or ended; it must not call pjsua2)
#   poll() -> list[Event]   once per engine loop turn, outside pjsua2 callbacks; the events it
#                    returns go to the sink (audio state, levels)
#   set_devices(input, output, ring) -> AudioStateEvent, info() -> AudioStateEvent
#                    behind Engine.set_audio_devices / Engine.audio_state


class CallFiles:
    """WAV players and recorders attached to one call's audio.

    Paths are remembered so that files asked for before the media is up (or across a
    re-INVITE that rebuilt the stream) are attached whenever the audio becomes active.
    """

    def __init__(self) -> None:
        self._play: list[str] = []
        self._record: list[str] = []
        self.players: dict[str, Any] = {}
        self.recorders: dict[str, Any] = {}

    def want_play(self, path: str) -> None:
        self._play.append(path)

    def want_record(self, path: str) -> None:
        self._record.append(path)

    def attach(self, call_audio: Any) -> None:
        """Create missing players/recorders and (re)connect all of them to `call_audio`."""
        for path in self._play:
            player = self.players.get(path)
            if player is None:
                player = pj.AudioMediaPlayer()
                player.createPlayer(path, pj.PJMEDIA_FILE_NO_LOOP)
                self.players[path] = player
            player.startTransmit(call_audio)
        for path in self._record:
            recorder = self.recorders.get(path)
            if recorder is None:
                recorder = pj.AudioMediaRecorder()
                recorder.createRecorder(path)
                self.recorders[path] = recorder
            call_audio.startTransmit(recorder)

    def release(self) -> list[Any]:
        """Forget every player and recorder; the caller drops them on the engine thread, which
        closes the files (a recorder's WAV header is final only then, §4)."""
        objects = [*self.players.values(), *self.recorders.values()]
        self.players.clear()
        self.recorders.clear()
        self._play.clear()
        self._record.clear()
        return objects
