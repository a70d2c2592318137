"""Listeners' devices: registered in the edge registry (which owns their live state),
persisted in the store, guarded by ownership, announced as ``device_changed``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from qfzz.edge import DeviceRegistry, EdgeDeviceConfig, StreamingParams
from qfzz.errors import Forbidden, QfzzError
from qfzz.station._auth import Principal
from qfzz.station._events import DeviceChanged, Events
from qfzz.store import DeviceRecord, DeviceRepository

log = logging.getLogger(__name__)


class Devices:
    def __init__(
        self,
        registry: DeviceRegistry,
        stored: DeviceRepository,
        events: Events,
        *,
        require_listener: Callable[[str], object],
    ) -> None:
        self.registry = registry
        self._stored = stored
        self._events = events
        self._require_listener = require_listener

    def load(self) -> None:
        """Register every stored device again (start-up); a bad record is skipped."""
        for record in self._stored.all():
            try:
                self.registry.register(
                    EdgeDeviceConfig.from_dict(record.config),
                    record.user_id,
                    preferences=record.preferences,
                )
            except QfzzError as exc:
                log.warning("ignoring stored device %s: %s", record.device_id, exc)

    def register(
        self,
        config: Mapping[str, object],
        *,
        user_id: str | None = None,
        preferences: Mapping[str, object] | None = None,
        takeover: bool = False,
    ) -> StreamingParams:
        """Register (or re-register) a device; its parameters are computed and stored.

        An id already registered to another listener raises DeviceConflict (409) and
        changes nothing, unless ``takeover`` (an admin acting for anyone) moves it.
        """
        device = EdgeDeviceConfig.from_dict(config)
        if user_id is not None:
            self._require_listener(user_id)  # raises UnknownListener
        params = self.registry.register(device, user_id, preferences=preferences, takeover=takeover)
        self._saved(device.device_id, params)
        return params

    def update(
        self, device_id: str, *, by: Principal | None = None, **changes: Any
    ) -> StreamingParams:
        """A network or battery change: re-optimize (running streams follow at a boundary).

        ``by``: who asks (None: the station itself). Only the owner or an admin may change
        a device, and only an admin one that has no owner (Forbidden otherwise).
        """
        self._check_access(device_id, by, change=True)
        params = self.registry.update(device_id, **changes)
        self._saved(device_id, params)
        return params

    def params(self, device_id: str, *, by: Principal | None = None) -> StreamingParams:
        """A device's parameters; ``by`` (when given) must be its owner or an admin."""
        self._check_access(device_id, by, change=False)
        return self.registry.params(device_id)

    def follow(
        self,
        device_id: str,
        push: Callable[[StreamingParams | None], None],
        *,
        by: Principal,
    ) -> Callable[[], None]:
        """Push the device's parameters to a running stream now and on each change, while
        ``by`` may read them (the rule of ``params``); returns the unsubscribe function."""
        return self.registry.follow(device_id, push, may_use=lambda owner: _may_read(owner, by))

    def _check_access(self, device_id: str, by: Principal | None, *, change: bool) -> None:
        if by is None:
            return
        owner = self.registry.get(device_id).user_id  # raises UnknownDevice
        if owner is not None:
            by.require(owner)
        elif change and not by.is_admin:
            raise Forbidden(f"device {device_id!r} has no owner: only an admin may change it")

    def _saved(self, device_id: str, params: StreamingParams) -> None:
        device = self.registry.get(device_id)
        self._stored.save(
            DeviceRecord(
                device_id,
                device.user_id,
                device.config.to_dict(),
                device.preferences.to_dict(),
                device.updated_at,
            )
        )
        self._events.emit("device_changed", DeviceChanged(device_id, device.user_id, params))


def _may_read(owner: str | None, by: Principal) -> bool:
    """What ``_check_access(change=False)`` allows: a device without an owner is anyone's
    to read, an owned one its owner's or an admin's."""
    return owner is None or owner == by.user_id or by.is_admin
