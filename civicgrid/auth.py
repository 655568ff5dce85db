"""Who is asking: the auth context that travels with every RPC and event.

The gateway signs a JWT at login; that token (not a copy of its claims) rides
in nameko's context data under ``auth_token``, so every service verifies the
signature again instead of trusting whatever a message header says. Work a
service starts on its own (event handlers, timers) runs as that service's
system identity, so a handler never acts with a resident's expiring token.
"""
import dataclasses
import functools
import time
from dataclasses import dataclass, field

import jwt
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc

from . import audit, config
from .errors import Forbidden, NotFound, Unauthorized

CONTEXT_KEY = "auth_token"
ALGORITHM = "HS256"

ROLES = (
    "resident", "building_leader", "grid_worker", "grid_leader",
    "community_staff", "party_member", "department_staff", "volunteer",
    "district_admin",
    # a member of an organisation registered with a community (驻区单位, a company): adopts micro-wishes for it
    "organisation_member",
)
PLATFORM_ADMIN = "platform_admin"
SYSTEM = "system"


@dataclass(frozen=True)
class AuthContext:
    user_id: str | None = None
    district: str | None = None
    roles: tuple = ()
    scope: str | None = None
    department: str | None = None
    name: str | None = None
    # the community a person belongs to (their scope's community): party members answer
    # residents' whistles there (居民吹哨，党员报到)
    community: str | None = None
    # the organisation (驻区单位 / company) an organisation_member acts for
    organisation: str | None = None
    claims: dict = field(default_factory=dict, compare=False, repr=False)
    # where the request came from, for the audit trail (civicgrid.audit)
    origin: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def authenticated(self):
        return self.user_id is not None

    @property
    def is_system(self):
        return SYSTEM in self.roles

    @property
    def is_platform_admin(self):
        return PLATFORM_ADMIN in self.roles

    def has(self, *roles):
        return any(role in self.roles for role in roles)

    def as_actor(self, role=None):
        """The ``actor`` of an event or timeline entry: who, in which role."""
        return {"id": self.user_id, "role": role or (self.roles[0] if self.roles else "anonymous")}

    def require(self, *roles):
        if not self.authenticated:
            raise Unauthorized("authentication required")
        if roles and not (self.has(*roles) or self.is_system):
            raise Forbidden(f"requires one of the roles: {', '.join(roles)}")
        return self

    def require_district(self, district):
        """Members of one district see and act in that district only; the platform acts anywhere.

        Another district is not found (404), not forbidden: its existence is not for outsiders to
        learn. Check this before any role, so a role that could not act anyway learns no more."""
        self.require()
        if self.is_system or self.is_platform_admin:
            return self
        if self.district != district:
            raise NotFound(f"no district {district!r}" if isinstance(district, str) else "no such district",
                           {"district": ["not found"]})
        return self

    def require_in_district(self, district, *roles):
        """``require_district`` first (404), then one of ``roles`` (403; name ``platform_admin`` to let
        the platform in)."""
        self.require_district(district)
        return self.require(*roles)


ANONYMOUS = AuthContext()


def issue_token(user_id, district, roles, scope=None, department=None, name=None, ttl=None,
                community=None, organisation=None):
    now = int(time.time())
    ttl = config.jwt_ttl_seconds() if ttl is None else ttl
    claims = {
        "sub": user_id, "district": district, "roles": list(roles),
        "scope": scope, "department": department, "name": name, "community": community,
        "organisation": organisation,
        "iat": now, "exp": now + ttl,
    }
    return jwt.encode(claims, config.jwt_secret(), algorithm=ALGORITHM), ttl


@functools.lru_cache(maxsize=1024)
def _verified_claims(token, secret):
    """A token's claims once its signature is checked, kept by (token, secret): a request's token is checked
    at the gateway and again by each service it reaches, the same few tokens over and over (some 5% of a
    service's time). A failed check raises and is not kept; another secret never finds the entry."""
    return jwt.decode(token, secret, algorithms=[ALGORITHM])


def _claims(token, secret):
    if not isinstance(token, str):          # PyJWT says what is wrong with it; nothing to keep
        return jwt.decode(token, secret, algorithms=[ALGORITHM])
    claims = _verified_claims(token, secret)
    # a kept token has only its expiry checked again, as PyJWT checks it: no other claim turns with time
    if "exp" in claims and int(claims["exp"]) <= time.time():
        raise jwt.ExpiredSignatureError("Signature has expired")
    return dict(claims)


def decode_token(token):
    try:
        claims = _claims(token, config.jwt_secret())
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired: sign in again")
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token")
    return AuthContext(
        user_id=claims.get("sub"), district=claims.get("district"),
        roles=tuple(claims.get("roles") or ()), scope=claims.get("scope"),
        department=claims.get("department"), name=claims.get("name"),
        community=claims.get("community"), organisation=claims.get("organisation"), claims=claims)


def system_token(service_name):
    token, _ = issue_token(f"system:{service_name}", None, [SYSTEM], ttl=300)
    return token


class Auth(DependencyProvider):
    """Injects the verified ``AuthContext`` of the current worker."""

    def setup(self):
        self._system = None

    def _system_token(self):
        # Re-issued well before its five minutes run out; signing costs microseconds.
        token, issued = self._system or (None, 0)
        if time.time() - issued > 60:
            token = system_token(self.container.service_name)
            self._system = (token, time.time())
        return token

    def get_dependency(self, worker_ctx):
        if not isinstance(worker_ctx.entrypoint, Rpc):
            worker_ctx.data[CONTEXT_KEY] = self._system_token()
            origin = {"channel": type(worker_ctx.entrypoint).__name__.lower()}
        else:
            origin = audit.origin_of(worker_ctx.data)
        token = worker_ctx.data.get(CONTEXT_KEY)
        if not token:
            return ANONYMOUS
        try:
            return dataclasses.replace(decode_token(token), origin=origin)
        except Unauthorized:
            return ANONYMOUS
