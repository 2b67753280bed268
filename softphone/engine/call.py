"""One call: a pj.Call subclass whose callbacks turn pjsua state into CallEvents.

Callbacks run on the engine thread (§1). Each body is wrapped in try/except: an exception that
reaches SWIG is printed and kept in sys.last_traceback, which keeps this object alive past
libDestroy and aborts the process at exit (§1, §2). The object is dropped by the core after
DISCONNECTED, outside this callback.

What pjsua2 gives directly: state, last status code and reason, codec (StreamInfo), RTCP
counters (StreamStat). What it hides: whether SDES-SRTP is active in "optional" mode (the SAVP
profile check only covers mandatory), so the `SRTP status: Active Crypto-suite: X` line of
call.dump() is read (§3); and forking facts, which come from the trace (dialogs.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from softphone.engine.events import (
    CallEvent,
    CallState,
    Direction,
    DtmfEvent,
    RtpStats,
    TransferEvent,
)
from softphone.engine.host import Host
from softphone.engine.media import CallFiles

_STATES: dict[int, CallState] = {
    pj.PJSIP_INV_STATE_NULL: "calling",
    pj.PJSIP_INV_STATE_CALLING: "calling",
    pj.PJSIP_INV_STATE_INCOMING: "incoming",
    pj.PJSIP_INV_STATE_EARLY: "early",
    pj.PJSIP_INV_STATE_CONNECTING: "connecting",
    pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
    pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}
_SRTP_ACTIVE_RE = re.compile(r"SRTP status: Active Crypto-suite: (\S+)")
_HOLD = {pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "local", pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "remote"}


@dataclass(frozen=True)
class _Calling:
    """The getInfo() fields a snapshot reads, as they are at CALLING: no response yet."""

    callIdString: str
    remoteUri: str
    state: int = pj.PJSIP_INV_STATE_CALLING
    lastStatusCode: int = 0
    lastReason: str = ""


class EngineCall(pj.Call):  # type: ignore[misc]
    """A call owned by the engine core; `handle` is the engine-wide call number."""

    def __init__(
        self,
        host: Host,
        account: Any,
        call_id: int = pj.PJSUA_INVALID_ID,
        *,
        direction: Direction,
        request_uri: str,
    ) -> None:
        super().__init__(account, call_id)
        self.host = host
        self.account_name: str = account.spec.name
        self.direction: Direction = direction
        self.request_uri = request_uri
        self.handle = 0  # set by host.adopt_call
        self.dialling = direction == "out"  # until its first state change (onCallState)
        self.silent = False  # refused by the IP ACL: no CallEvents
        self.sip_call_id = ""
        self.codec: str | None = None
        self.srtp_suite: str | None = None
        self.hold: Any = None
        self.muted = False
        self.audio_index = -1
        self.confirmed_at: float | None = None
        self.ended = False
        self.files = CallFiles()
        self.last: CallEvent | None = None
        self.last_rtp: RtpStats | None = None  # kept: the stream is gone at DISCONNECTED

    # -- snapshots ----------------------------------------------------------------------

    def snapshot(self, info: Any | None = None) -> CallEvent:
        """A CallEvent for the call as it is now (getInfo() values copied)."""
        ci = info if info is not None else self.getInfo()
        self.sip_call_id = ci.callIdString or self.sip_call_id
        state = _STATES.get(ci.state, "calling")
        if self.direction == "in" and state == "early":
            state = "incoming"  # we are the one ringing
        if state == "confirmed" and self.hold is not None:
            state = "held"
        if state in ("confirmed", "held") and self.confirmed_at is None:
            self.confirmed_at = time.monotonic()
        # The caller has drained the traces up to this moment (host.run_later): the watcher
        # tells how many devices rang then, not later.
        watcher = self.host.watcher
        event = CallEvent(
            call=self.handle,
            account=self.account_name,
            direction=self.direction,
            remote=ci.remoteUri,
            request_uri=self.request_uri,
            state=state,
            code=int(ci.lastStatusCode),
            reason=ci.lastReason,
            codec=self.codec,
            srtp_suite=self.srtp_suite,
            devices_ringing=watcher.devices_ringing(self.sip_call_id),
            answered_elsewhere=(
                self.direction == "in" and watcher.answered_elsewhere(self.sip_call_id)
            ),
            rtp=self.refresh_stats() or self.last_rtp,
            call_id=self.sip_call_id,
            hold=self.hold,
            muted=self.muted,
            duration=(time.monotonic() - self.confirmed_at) if self.confirmed_at else 0.0,
        )
        self.last = event
        return event

    def refresh_stats(self) -> RtpStats | None:
        """Read the RTCP counters now (None if there is no stream); remembers the last ones."""
        if self.audio_index < 0 or self.ended:
            return None
        try:
            stat = self.getStreamStat(self.audio_index)
        except pj.Error:
            return None
        rtcp = stat.rtcp
        rtt = rtcp.rttUsec
        self.last_rtp = RtpStats(
            rx_packets=int(rtcp.rxStat.pkt),
            rx_lost=int(rtcp.rxStat.loss),
            rx_jitter_ms=rtcp.rxStat.jitterUsec.mean / 1000.0,
            tx_packets=int(rtcp.txStat.pkt),
            rtt_ms=rtt.mean / 1000.0 if rtt.n else None,
        )
        return self.last_rtp

    def publish(self, info: Any | None = None) -> None:
        """Queue a CallEvent (host.later): `info` is the getInfo() of the moment, if taken."""
        if not self.silent:
            self.host.later(lambda: self._publish_now(info))

    def _publish_now(self, info: Any | None) -> None:
        if info is None and self.ended:
            return  # the final event is out; pjsua has forgotten the call
        self.host.emit(self.snapshot(info))

    # -- callbacks ----------------------------------------------------------------------

    def onCallState(self, prm: Any) -> None:
        try:
            if self.dialling:
                # The first state of a call we make is CALLING, reported just after the INVITE
                # went out: the far end is already answering, and a server on this host is
                # usually woken onto this CPU (sync wake-up) and waits for us to go idle.
                # getInfo() would cost more than everything else here, and CALLING holds
                # nothing it could tell yet (no response, code 0), so the event is put
                # together once SIP has settled.
                self.dialling = False
                if self.isActive():  # else it ended at once (a local failure): read it below
                    self.host.later(self._publish_calling)
                    return
            ci = self.getInfo()
            if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                # Final RTP counters while the stream still exists, then forget the media.
                self.publish_final(ci)
                return
            self.publish(ci)
        except Exception as exc:
            self.host.report("onCallState", exc)

    def _publish_calling(self) -> None:
        if self.silent:
            return
        try:
            ci = self.getInfo()  # the call's identity; its state may have moved on since
        except pj.Error:
            return
        self.host.emit(self.snapshot(_Calling(ci.callIdString, ci.remoteUri)))

    def onCallTsxState(self, prm: Any) -> None:
        """Nothing to do here. pjsua2's director calls into Python for every virtual method,
        overridden or not, after each request and response of the call; without this method
        that call would go on through the Python base back into C++, to a method that does
        nothing either."""

    def publish_final(self, ci: Any) -> None:
        if self.ended:
            return
        self.host.run_later()  # what was queued for this call goes out before its end
        if not self.silent:
            self.host.emit(self.snapshot(ci))
        self.ended = True
        self.audio_index = -1
        for obj in self.files.release():
            self.host.discard(obj)
        self.host.call_ended(self)

    def onCallMediaState(self, prm: Any) -> None:
        try:
            self._media_changed()
        except Exception as exc:
            self.host.report("onCallMediaState", exc)

    def _media_changed(self) -> None:
        ci = self.getInfo()
        self.hold = None
        self.audio_index = -1
        for mi in ci.media:
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            if mi.status in (pj.PJSUA_CALL_MEDIA_NONE, pj.PJSUA_CALL_MEDIA_ERROR):
                continue
            self.hold = _HOLD.get(mi.status)
            self.audio_index = mi.index
            self._read_stream(mi.index)
            audio = self.getAudioMedia(mi.index)
            self._apply_mute(audio)
            self.files.attach(audio)
            if self.host.audio is not None:
                self.host.audio.connect(audio)
            else:
                # Wire the (null) sound device like a real one: microphone → call → speaker.
                # A call port with no source only gets heart-beat frames from the bridge, and
                # then pjmedia sent only the first 5 digits of a DTMF string (measured).
                devices = self.host.endpoint.audDevManager()
                devices.getCaptureDevMedia().startTransmit(audio)
                audio.startTransmit(devices.getPlaybackDevMedia())
            break
        self.publish(ci)

    def _read_stream(self, index: int) -> None:
        si = self.getStreamInfo(index)
        self.codec = f"{si.codecName}/{si.codecClockRate}"
        dump = self.dump(True, "")
        m = _SRTP_ACTIVE_RE.search(dump)
        self.srtp_suite = m.group(1) if m else None

    def onDtmfDigit(self, prm: Any) -> None:
        try:
            method = {pj.PJSUA_DTMF_METHOD_RFC2833: "rfc4733"}.get(prm.method, "other")
            if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO:
                method = "sip-info"
            self.host.emit(DtmfEvent(self.handle, str(prm.digit), method))  # type: ignore[arg-type]
        except Exception as exc:
            self.host.report("onDtmfDigit", exc)

    def onCallTransferRequest(self, prm: Any) -> None:
        """The remote party REFERs us elsewhere (RFC 3515): accept and call the target with a
        call object of our own, so its events reach the sink like any other call."""
        try:
            account = self.host.account_of(self.account_name)
            new = EngineCall(self.host, account, direction="out", request_uri=prm.dstUri)
            self.host.adopt_call(new)
            prm.newCall = new
        except Exception as exc:
            self.host.report("onCallTransferRequest", exc)

    def onCallTransferStatus(self, prm: Any) -> None:
        try:
            self.host.emit(
                TransferEvent(self.handle, int(prm.statusCode), prm.reason, bool(prm.finalNotify))
            )
        except Exception as exc:
            self.host.report("onCallTransferStatus", exc)

    # -- commands (engine thread) -------------------------------------------------------

    def set_mute(self, on: bool) -> None:
        self.muted = on
        if self.audio_index >= 0:
            self._apply_mute(self.getAudioMedia(self.audio_index))
        self.publish()

    def _apply_mute(self, audio: Any) -> None:
        # pjsua2 names levels from the media's side: AudioMedia.adjustRxLevel is what the call
        # port receives from the bridge, i.e. what is sent to the remote party
        # (media.cpp maps it to pjsua_conf_adjust_tx_level). adjustTxLevel would silence the
        # remote party instead (measured: the tone still reached the far end).
        audio.adjustRxLevel(0.0 if self.muted else 1.0)

    def refresh_files(self) -> None:
        if self.audio_index >= 0:
            self.files.attach(self.getAudioMedia(self.audio_index))
