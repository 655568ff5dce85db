"""Micro-projects (微项目): what a community does once for a problem many residents keep raising."""
from flask_smorest import Blueprint

from services.petitions.project_schemas import (CommentListSchema, CommentOutSchema, CommentPageSchema, CommentSchema,
                                                CreateProjectSchema, ProjectListSchema, ProjectPageSchema,
                                                ProjectSchema, ResolvePetitionsSchema, ResolveResultSchema,
                                                TransitionSchema, UpdateProjectSchema)

from ..security import BEARER, authenticated, call

blp = Blueprint("projects", __name__, url_prefix="/api/v1/projects",
                description="Micro-projects (微项目): linked petitions, support, comments, resolved together")


@blp.route("", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(CreateProjectSchema)
@blp.response(201, ProjectSchema)
@blp.alt_response(409, description="a petition is in another open project already")
@authenticated
def create(payload):
    """Propose a project (community staff of its community, district admins) from selected petitions
    (``petition_ids``) or from a hotspot (``hotspot``: the open petitions of a category in a building or grid)."""
    return call("petitions", "create_project", payload)


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(ProjectListSchema, location="query")
@blp.response(200, ProjectPageSchema)
@authenticated
def list_(query):
    """The district's projects, newest first; ``building_id`` for those affecting a building."""
    return call("petitions", "list_projects", query)


@blp.route("/<project_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ProjectSchema)
@authenticated
def get(project_id):
    return call("petitions", "get_project", project_id)


@blp.route("/<project_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@blp.arguments(UpdateProjectSchema)
@blp.response(200, ProjectSchema)
@authenticated
def update(payload, project_id):
    """Change what is sent; once approved, the budget and sponsor are a district admin's to change."""
    return call("petitions", "update_project", project_id, payload)


@blp.route("/<project_id>/transition", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(TransitionSchema)
@blp.response(200, ProjectSchema)
@blp.alt_response(403, description="not allowed for this user (approval is a district admin's)")
@blp.alt_response(409, description="not a step from the project's status")
@authenticated
def transition(payload, project_id):
    """proposed → approved (district admin) → in_progress → done; proposed or approved → cancelled (with a note)."""
    return call("petitions", "move_project", project_id, payload)


@blp.route("/<project_id>/support", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, ProjectSchema)
@authenticated
def support(project_id):
    """A resident of an affected building supports it; a second support changes nothing and answers the same."""
    return call("petitions", "support_project", project_id)


@blp.route("/<project_id>/comments", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(CommentListSchema, location="query")
@blp.response(200, CommentPageSchema)
@authenticated
def comments(query, project_id):
    """Newest first."""
    return call("petitions", "project_comments", project_id, query)


@blp.route("/<project_id>/comments", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(CommentSchema)
@blp.response(201, CommentOutSchema)
@authenticated
def comment(payload, project_id):
    """Residents of the affected buildings, their building leaders and grid workers, the community's staff."""
    return call("petitions", "comment_project", project_id, payload)


@blp.route("/<project_id>/resolve-petitions", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(ResolvePetitionsSchema)
@blp.response(200, ResolveResultSchema)
@blp.alt_response(409, description="the project is not done")
@authenticated
def resolve_petitions(payload, project_id):
    """Once done: resolve each linked petition still open at the community's level or below, with the note;
    the others come back in ``not_resolved`` with the reason. Repeating it resolves nothing twice."""
    return call("petitions", "resolve_project_petitions", project_id, payload)
