"""Notify service entrypoints: one thin handler per event, the inbox over RPC."""
from nameko.events import event_handler
from nameko.rpc import RpcProxy

from civicgrid.auth import Auth
from civicgrid.idempotency import idempotent
from civicgrid.rpc import rpc
from civicgrid.store import Store

from . import domain
from .dependencies import GridDirectory, create_indexes
from .schemas import InboxSchema, NotificationSchema


class NotifyService:
    name = "notify"

    db = Store(indexes=create_indexes)
    auth = Auth()
    grid = RpcProxy("grid")

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def inbox(self, page=1, page_size=20):
        return InboxSchema().dump(domain.inbox(self.db, self.auth, page, page_size))

    @rpc
    def mark_read(self, notification_id):
        return NotificationSchema().dump(domain.mark_read(self.db, self.auth, notification_id))

    def _deliver(self, event):
        return domain.notify(self.db, GridDirectory(self.grid), event)

    @event_handler("petitions", "petition_submitted")
    @idempotent
    def handle_petition_submitted(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_claimed")
    @idempotent
    def handle_petition_claimed(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_escalated")
    @idempotent
    def handle_petition_escalated(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_dispatched")
    @idempotent
    def handle_petition_dispatched(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_accepted")
    @idempotent
    def handle_petition_accepted(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_returned")
    @idempotent
    def handle_petition_returned(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_resolved")
    @idempotent
    def handle_petition_resolved(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_closed")
    @idempotent
    def handle_petition_closed(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_withdrawn")
    @idempotent
    def handle_petition_withdrawn(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_overdue")
    @idempotent
    def handle_petition_overdue(self, event):
        return self._deliver(event)

    @event_handler("petitions", "petition_merged")
    @idempotent
    def handle_petition_merged(self, event):
        return self._deliver(event)

    @event_handler("petitions", "follow_up_opened")
    @idempotent
    def handle_follow_up_opened(self, event):
        return self._deliver(event)

    @event_handler("petitions", "follow_up_recorded")
    @idempotent
    def handle_follow_up_recorded(self, event):
        return self._deliver(event)

    @event_handler("points", "points_awarded")
    @idempotent
    def handle_points_awarded(self, event):
        return self._deliver(event)
