"""Micro-project (微项目) RPCs, mixed into ``PetitionsService``; the logic lives in project_usecases.py.

Uses the service's ``db``, ``auth``, ``idempotency_key``, ``clock``, ``grid``, ``_publish`` and ``_relay``.
A project's events leave through the outbox in its own document, like a petition's; the service's relay
timer also sends what a write here left behind.
"""
import logging

from civicgrid.audit import audited
from civicgrid.idempotency_keys import once_per_key
from civicgrid.outbox import publish_pending
from civicgrid.rpc import rpc

from . import project_usecases
from .dependencies import GridDirectory
from .project_repository import ProjectRepository
from .project_views import comment_view, project_view

log = logging.getLogger(__name__)


class ProjectEntrypoints:

    @rpc
    @once_per_key
    @audited
    def create_project(self, payload):
        project = project_usecases.create(self._projects(), GridDirectory(self.grid), self.auth, payload, self.clock())
        self._relay_project(project["_id"])
        return project_view(project, supported_by_me=False)

    @rpc
    @once_per_key
    @audited
    def update_project(self, project_id, payload):
        project_usecases.update(self._projects(), GridDirectory(self.grid), self.auth, project_id, payload, self.clock())
        return self._project_answer(project_id)

    @rpc
    @once_per_key
    @audited
    def move_project(self, project_id, payload):
        project = project_usecases.move(self._projects(), self.auth, project_id, payload, self.clock())
        self._relay_project(project["_id"])
        return self._project_answer(project_id)

    @rpc
    @once_per_key
    @audited
    def support_project(self, project_id):
        project = project_usecases.support(self._projects(), self.auth, project_id, self.clock())
        self._relay_project(project["_id"])
        return self._project_answer(project_id)

    @rpc
    @once_per_key
    @audited
    def comment_project(self, project_id, payload):
        return comment_view(project_usecases.comment(self._projects(), self.auth, project_id, payload, self.clock()))

    @rpc
    @once_per_key
    @audited
    def resolve_project_petitions(self, project_id, payload):
        project, outcome = project_usecases.resolve_petitions(self._projects(), self.auth, project_id, payload,
                                                              self.clock())
        for petition in outcome["resolved"]:
            self._relay(petition["id"])
        return {"project": self._project_answer(project_id), **outcome}

    @rpc
    def get_project(self, project_id):
        return self._project_answer(project_id)

    @rpc
    def list_projects(self, query=None):
        items, total, params, supported = project_usecases.page(self._projects(), self.auth, query or {})
        return {"items": [project_view(p, supported_by_me=p["_id"] in supported) for p in items], "total": total,
                "page": params["page"], "page_size": params["page_size"]}

    @rpc
    def project_comments(self, project_id, query=None):
        items, total, params = project_usecases.comments(self._projects(), self.auth, project_id, query or {})
        return {"items": [comment_view(c) for c in items], "total": total,
                "page": params["page"], "page_size": params["page_size"]}

    def _projects(self):
        return ProjectRepository(self.db)

    def _project_answer(self, project_id):
        project, petitions, supported = project_usecases.get(self._projects(), self.auth, project_id)
        return project_view(project, petitions, supported)

    def _relay_project(self, project_id):
        try:
            publish_pending(self.db.projects, self._publish, {"_id": project_id})
        except Exception:
            # The write stands; the relay timer publishes it once the broker answers.
            log.exception("publishing project %s deferred to the relay", project_id)
