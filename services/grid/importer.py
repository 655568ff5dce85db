"""A district's set-up document: check every entry, then write it all.

Every problem is collected before anything is written, because an import that
stops half-way leaves people pointing at nodes or departments that do not
exist, and the administrator wants the whole list of mistakes in one go.
Re-importing the same document is an update, so a demo can be loaded twice.

Categories come two ways: a department's own ``categories`` list (a basic
category: its code as name, kind issue, no fields) and the top-level
``categories`` section of full definitions (Open311-style service definitions).
A category in both must name the same department.

Households (the ``households`` section) are checked and written by household_import.py,
after everything else they may refer to: buildings and users.
"""
from dataclasses import dataclass, field

from marshmallow import ValidationError
from pymongo.errors import DuplicateKeyError
from werkzeug.security import generate_password_hash

from civicgrid.auth import ROLES
from civicgrid.errors import Conflict, Invalid
from civicgrid.events import make_event, utcnow

from . import household_import, organisations
from .schemas import CategoryIn, DepartmentIn, NodeIn, UserIn

DISTRICT = "district"
# A parent or scope that names an entry which is itself broken: already reported once.
BROKEN = object()

ALLOWED_PARENTS = {
    "street": ("district",),
    "community": ("district", "street"),
    "grid": ("community",),
    "microgrid": ("grid",),
    "building": ("grid", "microgrid"),
}

# The kind of node a role's scope must name; roles absent here need no scope.
SCOPE_KINDS = {
    "resident": ("building",),
    "building_leader": ("building",),
    "grid_worker": ("grid", "microgrid"),
    "grid_leader": ("grid", "microgrid"),
    "community_staff": ("community",),
    # 党员报到: a party member lives in a building or registers straight with a community
    "party_member": ("building", "community"),
    "district_admin": (DISTRICT,),
}

SECTIONS = ("nodes", "departments", "users", "categories", "organisations", "households")


def _either(kinds):
    return " or ".join(f"the {k}" if k == DISTRICT else f"a {k}" for k in kinds)


class Problems:
    """Field path -> message, e.g. ``nodes[3].parent``: "unknown parent 'x'"."""

    def __init__(self):
        self.errors = {}

    def add(self, key, message):
        self.errors[key] = f"{self.errors[key]}; {message}" if key in self.errors else message

    def add_messages(self, prefix, messages):
        for name, value in messages.items():
            key = f"{prefix}[{name}]" if isinstance(name, int) else f"{prefix}.{name}"
            if isinstance(value, dict):
                self.add_messages(key, value)
            else:
                self.add(key, "; ".join(str(m) for m in value))

    def raise_any(self):
        if self.errors:
            count = len(self.errors)
            raise Invalid(f"import rejected: {count} problem{'s' if count != 1 else ''}", self.errors)


@dataclass
class Plan:
    """What a checked document will write."""
    nodes: list = field(default_factory=list)
    departments: list = field(default_factory=list)
    # {"category", "department_id", "definition"}; definition is None for a basic category
    # named only in a department's list, whose stored definition the import leaves alone
    categories: list = field(default_factory=list)
    users: list = field(default_factory=list)
    # registered organisations (驻区单位, companies: organisations.py) and, once applied, the users they changed
    organisations: list = field(default_factory=list)
    changed_members: list = field(default_factory=list)
    # households with their building's path (household_import.py)
    households: list = field(default_factory=list)

    def counts(self):
        counts = {"nodes": len(self.nodes), "departments": len(self.departments),
                  "users": len(self.users), "categories": len(self.categories),
                  "households": len(self.households)}
        if self.organisations:
            counts["organisations"] = len(self.organisations)
        return counts


def _load(schema, raw, key, problems):
    """(data, ok); on failure, the fields that did load, so later checks still run on them."""
    if not isinstance(raw, dict):
        problems.add(key, "must be an object")
        return {}, False
    try:
        return schema.load(raw), True
    except ValidationError as err:
        problems.add_messages(key, err.messages)
        valid = err.valid_data if isinstance(err.valid_data, dict) else {}
        return valid, False


def _sections(document, problems):
    if not isinstance(document, dict):
        problems.add("document", "must be an object with nodes, departments, users, categories and households")
        return {name: [] for name in SECTIONS}
    for name in document:
        if name not in SECTIONS:
            problems.add(str(name), f"unknown section: expected {', '.join(SECTIONS)}")
    sections = {}
    for name in SECTIONS:
        value = document.get(name)
        if value is None:
            value = []
        if not isinstance(value, list):
            problems.add(name, "must be a list")
            value = []
        sections[name] = value
    return sections


def _strings(entries, *names):
    """Every string value of the given keys: what to fetch from the stored district."""
    return {e[n] for e in entries if isinstance(e, dict) for n in names if isinstance(e.get(n), str)}


class _Importer:
    def __init__(self, db, code, sections, problems):
        self.db, self.code, self.sections, self.problems = db, code, sections, problems
        wanted = _strings(sections["nodes"], "id", "parent") | _strings(sections["users"], "scope")
        wanted |= _strings(sections["households"], "building_id") | _strings(sections["organisations"], "community")
        self.stored_nodes = {n["id"]: n for n in db.nodes.find(
            {"district": code, "id": {"$in": sorted(wanted)}})}
        self.stored_departments = {d["id"] for d in db.departments.find({"district": code}, {"id": 1})}
        self.stored_categories = {c["category"]: c["department_id"]
                                  for c in db.categories.find({"district": code})}
        names = _strings(sections["users"], "username")
        self.stored_users = {u["username"]: u for u in db.users.find(
            {"username": {"$in": sorted(names)}}, {"username": 1, "district": 1, "party_community": 1,
                                                        "organisation": 1})}
        self.nodes = {}         # id -> (index, loaded entry or None when broken)
        self.departments = {}   # id -> (index, loaded entry or None when broken)
        self.defined = {}       # category -> (index, loaded definition or None when broken)
        self.users = []         # loaded entries that passed every check of their own

    # -- nodes ---------------------------------------------------------------

    def kind_of(self, ref):
        """'district', a node type, BROKEN, or None when ``ref`` names nothing."""
        if ref == self.code:
            return DISTRICT
        if ref in self.nodes:
            entry = self.nodes[ref][1]
            return entry["type"] if entry else BROKEN
        stored = self.stored_nodes.get(ref)
        return stored["type"] if stored else None

    def check_nodes(self):
        for i, raw in enumerate(self.sections["nodes"]):
            key = f"nodes[{i}]"
            entry, ok = _load(NodeIn(), raw, key, self.problems)
            node_id = entry.get("id")
            if node_id is None:
                continue
            if node_id in self.nodes:
                self.problems.add(f"{key}.id", f"duplicate id {node_id!r}")
                continue
            if node_id == self.code:
                self.problems.add(f"{key}.id", "must differ from the district code")
                continue
            self.nodes[node_id] = (i, entry if ok else None)
        # Parents are checked once every id is known: the document may list children first.
        for node_id, (i, entry) in self.nodes.items():
            if entry:
                self._check_parent(f"nodes[{i}]", entry)

    def _check_parent(self, key, entry):
        node_id, node_type, parent = entry["id"], entry["type"], entry["parent"]
        parent_kind = self.kind_of(parent)
        allowed = ALLOWED_PARENTS[node_type]
        if parent_kind is None:
            self.problems.add(f"{key}.parent", f"unknown parent {parent!r}")
        elif parent_kind is not BROKEN and parent_kind not in allowed:
            under = "the district" if parent_kind == DISTRICT else f"{parent_kind} {parent!r}"
            self.problems.add(f"{key}.parent",
                              f"a {node_type} cannot sit under {under}: its parent must be {_either(allowed)}")
        stored = self.stored_nodes.get(node_id)
        if stored and stored["type"] != node_type:
            self.problems.add(f"{key}.type",
                              f"cannot move or retype {node_id!r}: it is a {stored['type']}")
        if stored and stored["parent"] != parent:
            self.problems.add(f"{key}.parent",
                              f"cannot move or retype {node_id!r}: its parent is {stored['parent']!r}")

    def _path(self, node_id, memo):
        if node_id not in memo:
            parent = self.nodes[node_id][1]["parent"]
            if parent == self.code:
                memo[node_id] = [self.code, node_id]
            elif parent in self.nodes:
                memo[node_id] = self._path(parent, memo) + [node_id]
            else:
                memo[node_id] = list(self.stored_nodes[parent]["path"]) + [node_id]
        return memo[node_id]

    # -- departments ---------------------------------------------------------

    def check_departments(self):
        for i, raw in enumerate(self.sections["departments"]):
            key = f"departments[{i}]"
            entry, ok = _load(DepartmentIn(), raw, key, self.problems)
            dept_id = entry.get("id")
            if dept_id is None:
                continue
            if dept_id in self.departments:
                self.problems.add(f"{key}.id", f"duplicate id {dept_id!r}")
                continue
            if ok:
                entry["categories"] = list(dict.fromkeys(entry["categories"]))
            self.departments[dept_id] = (i, entry if ok else None)
        owners = {}
        for dept_id, (i, entry) in self.departments.items():
            for category in entry["categories"] if entry else ():
                owner = owners.setdefault(category, dept_id)
                stored = self.stored_categories.get(category)
                if owner != dept_id:
                    self.problems.add(f"departments[{i}].categories",
                                      f"category {category!r} already belongs to department {owner!r}")
                # A department in this document gives up whatever it no longer lists;
                # one left out keeps its categories. A full definition in this document
                # says where the category goes: checked against the lists below.
                elif (stored and stored != dept_id and stored not in self.departments
                      and category not in self.defined):
                    self.problems.add(f"departments[{i}].categories",
                                      f"category {category!r} already belongs to department {stored!r}")
        self.owners = owners

    # -- categories ----------------------------------------------------------

    def load_categories(self):
        """Full definitions, loaded before the departments so that their lists can defer to them."""
        for i, raw in enumerate(self.sections["categories"]):
            key = f"categories[{i}]"
            entry, ok = _load(CategoryIn(), raw, key, self.problems)
            category = entry.get("category")
            if category is None:
                continue
            if category in self.defined:
                self.problems.add(f"{key}.category", f"duplicate category {category!r}")
                continue
            self.defined[category] = (i, entry if ok else None)

    def check_categories(self):
        for category, (i, entry) in self.defined.items():
            if entry is None:
                continue
            dept_id = entry["department_id"]
            if dept_id is not None and dept_id not in self.departments \
                    and dept_id not in self.stored_departments:
                self.problems.add(f"categories[{i}].department_id", f"unknown department {dept_id!r}")
            owner = self.owners.get(category)
            if owner is not None and owner != dept_id:
                self.problems.add(f"categories[{i}].department_id",
                                  f"category {category!r} is listed by department {owner!r}: "
                                  f"both places must name the same department")

    def planned_categories(self, departments):
        """Every category the document names, and each department's categories after the import."""
        out = {}
        for dept in departments:
            for category in dept["categories"]:
                out[category] = {"category": category, "department_id": dept["id"], "definition": None}
        for category, (_, entry) in self.defined.items():
            out[category] = {"category": category, "department_id": entry["department_id"],
                             "definition": entry}
        for dept in departments:
            dept["categories"] = list(dict.fromkeys(
                dept["categories"] + [c for c, (_, e) in self.defined.items()
                                      if e["department_id"] == dept["id"]]))
        return list(out.values())

    # -- users ---------------------------------------------------------------

    def check_users(self):
        seen = set()
        for i, raw in enumerate(self.sections["users"]):
            key = f"users[{i}]"
            entry, ok = _load(UserIn(), raw, key, self.problems)
            username = entry.get("username")
            if username is not None:
                if username in seen:
                    self.problems.add(f"{key}.username", f"duplicate username {username!r}")
                    continue
                seen.add(username)
                stored = self.stored_users.get(username)
                if stored and stored["district"] != self.code:
                    self.problems.add(f"{key}.username", "username taken")
            if "roles" not in entry:
                continue
            roles = list(dict.fromkeys(entry["roles"]))
            for role in roles:
                if role not in ROLES:
                    self.problems.add(f"{key}.roles", f"unknown role {role!r}")
            roles = [r for r in roles if r in ROLES]
            scope = self._check_scope(key, roles, entry) if "scope" in entry else None
            if "department" in entry:
                self._check_department(key, roles, entry["department"])
            if ok:
                stored = self.stored_users.get(username) or {}
                # Registered with a community through the API (党员报到): the set-up document
                # does not know of it, and importing it again must not undo it.
                if stored.get("party_community") and "party_member" not in roles:
                    roles = roles + ["party_member"]
                if stored.get("organisation") and organisations.ROLE not in roles:
                    roles = roles + [organisations.ROLE]
                self.users.append({**entry, "roles": roles, "scope": scope})

    def _check_scope(self, key, roles, entry):
        """The scope to store: the given one, or the district code for a district admin."""
        needs = {r: SCOPE_KINDS[r] for r in roles if r in SCOPE_KINDS}
        scope = entry["scope"]
        if scope is None:
            if "district_admin" in needs:
                return self.code
            if needs:
                role, kinds = next(iter(needs.items()))
                self.problems.add(f"{key}.scope", f"required for role {role!r}: {_either(kinds)}")
            return None
        kind = self.kind_of(scope)
        if kind is None:
            self.problems.add(f"{key}.scope", f"unknown node {scope!r}")
        # A user with several roles has one scope: it must fit at least one of them.
        elif kind is not BROKEN and needs and not any(kind in kinds for kinds in needs.values()):
            what = "the district" if kind == DISTRICT else f"a {kind}"
            wanted = "; ".join(f"{r} needs {_either(k)}" for r, k in needs.items())
            self.problems.add(f"{key}.scope", f"{scope!r} is {what}: {wanted}")
        return scope

    def _check_department(self, key, roles, department):
        if "department_staff" not in roles:
            if department is not None:
                self.problems.add(f"{key}.department", "only department_staff belong to a department")
        elif department is None:
            self.problems.add(f"{key}.department", "required for role 'department_staff'")
        elif department not in self.departments and department not in self.stored_departments:
            self.problems.add(f"{key}.department", f"unknown department {department!r}")

    # -- all -----------------------------------------------------------------

    def communities(self, memo):
        """Each user's community: the community node among their scope and its ancestors."""
        paths = {}
        for user in self.users:
            scope = user["scope"]
            if scope in self.nodes:
                paths[scope] = self._path(scope, memo)
            elif scope in self.stored_nodes:
                paths[scope] = self.stored_nodes[scope]["path"]
        types = {node_id: entry["type"] for node_id, (_, entry) in self.nodes.items()}
        missing = {n for path in paths.values() for n in path if n not in types and n != self.code}
        types.update({n["id"]: n["type"] for n in self.db.nodes.find(
            {"district": self.code, "id": {"$in": sorted(missing)}}, {"id": 1, "type": 1})})
        for user in self.users:
            path = paths.get(user["scope"], [])
            user["community"] = next((n for n in reversed(path) if types.get(n) == "community"), None)

    def building_path(self, building_id, memo):
        if building_id in self.nodes:
            return self._path(building_id, memo)
        return list(self.stored_nodes[building_id]["path"])

    def plan(self):
        self.check_nodes()
        self.load_categories()
        self.check_departments()
        self.check_categories()
        self.check_users()
        planned_organisations = self.check_organisations()
        households = household_import.check(self, _load, self.problems, BROKEN)
        self.problems.raise_any()
        memo = {}
        nodes = [{**entry, "path": self._path(node_id, memo)} for node_id, (_, entry) in self.nodes.items()]
        departments = [entry for _, entry in self.departments.values()]
        categories = self.planned_categories(departments)
        self.communities(memo)
        households = [{**h, "path": self.building_path(h["building_id"], memo)} for h in households]
        return Plan(sorted(nodes, key=lambda n: len(n["path"])), departments, categories, self.users,
                    organisations=planned_organisations, households=households)

    def check_organisations(self):
        listed = {u["username"] for u in self.users}
        names = sorted({m for o in self.sections["organisations"] if isinstance(o, dict)
                        for m in (o.get("members") if isinstance(o.get("members"), list) else [])
                        if isinstance(m, str)} - listed)
        stored = {u["username"] for u in self.db.users.find({"district": self.code, "username": {"$in": names}},
                                                             {"username": 1})}
        planned = organisations.check_import(self.sections["organisations"], self.problems, self.kind_of,
                                             lambda name: name in listed or name in stored)
        members = {m for o in planned for m in o["members"]}
        for user in self.users:
            if user["username"] in members and organisations.ROLE not in user["roles"]:
                user["roles"] = user["roles"] + [organisations.ROLE]
        return planned


def plan(db, code, document):
    """Check ``document`` against itself and the stored district; ``Invalid`` lists every problem."""
    problems = Problems()
    sections = _sections(document, problems)
    return _Importer(db, code, sections, problems).plan()


def apply(db, code, plan, now=None, actor=None):
    """Write a checked plan. Upserts throughout, so running it twice changes nothing more.

    ``actor`` ({id, name, role}) is who imported: the first entry of each new household's care history."""
    now = now or utcnow()
    # Hashing is the slow part: done before the first write keeps the writing window short.
    hashes = {u["username"]: generate_password_hash(u["password"]) for u in plan.users}
    for node in plan.nodes:
        db.nodes.update_one(
            {"district": code, "id": node["id"]},
            {"$set": {"type": node["type"], "name": node["name"], "parent": node["parent"],
                      "path": node["path"], "location": node.get("location"), "updated_at": now},
             "$setOnInsert": {"created_at": now}}, upsert=True)
    for dept in plan.departments:
        # A department's categories are read from the catalogue itself (categories move with
        # put_category), so the department keeps no list of its own that could go stale.
        db.departments.update_one(
            {"district": code, "id": dept["id"]},
            {"$set": {"name": dept["name"], "updated_at": now},
             "$unset": {"categories": ""},
             "$setOnInsert": {"created_at": now}}, upsert=True)
        db.categories.delete_many(
            {"district": code, "department_id": dept["id"], "category": {"$nin": dept["categories"]}})
    for category in plan.categories:
        definition = category["definition"]
        if definition is None:
            # Named only in a department's list: a basic category, unless it is defined already.
            update = {"$set": {"department_id": category["department_id"]},
                      "$setOnInsert": {**basic_definition(category["category"]), "created_at": now}}
        else:
            update = {"$set": {**stored_definition(definition), "updated_at": now},
                      "$setOnInsert": {"created_at": now}}
        db.categories.update_one({"district": code, "category": category["category"]}, update, upsert=True)
    for user in plan.users:
        try:
            # Filtering on the district too: a username another district took meanwhile
            # hits the unique index instead of being overwritten.
            db.users.update_one(
                {"username": user["username"], "district": code},
                {"$set": {"password_hash": hashes[user["username"]], "name": user["name"],
                          "roles": user["roles"], "scope": user["scope"], "community": user["community"],
                          "department": user["department"], "updated_at": now},
                 "$setOnInsert": {"created_at": now}}, upsert=True)
        except DuplicateKeyError:
            raise Conflict(f"username {user['username']!r} was taken by another district during "
                           "this import; remove it and import again",
                           {"username": user["username"]})
    plan.changed_members = organisations.apply_import(db, code, plan.organisations, now)
    household_import.apply(db, code, plan.households, now, actor or {"id": None, "name": None, "role": "import"})


def basic_definition(category):
    """What a category named only in a department's list starts as."""
    return {"name": category, "description": "", "kind": "issue", "fields": []}


def stored_definition(definition):
    """The stored fields of a loaded definition (``CategoryIn``), in a stable shape."""
    return {"name": definition["name"], "description": definition["description"],
            "department_id": definition["department_id"], "kind": definition["kind"],
            "fields": [{"code": f["code"], "name": f["name"], "type": f["type"],
                        "required": f["required"], "description": f["description"],
                        "choices": [{"key": c["key"], "name": c["name"]} for c in f["choices"]]}
                       for f in definition["fields"]]}


def events(code, auth, plan):
    """The facts other services learn from an import: one per person, one per department."""
    actor = auth.as_actor()
    out = [make_event("department_registered", code, actor,
                      {"department_id": d["id"], "name": d["name"], "categories": d["categories"]})
           for d in plan.departments]
    out += [make_event("member_assigned", code, actor,
                       {"user_id": u["username"], "name": u["name"], "roles": u["roles"],
                        "scope": u["scope"], "department_id": u["department"]})
            for u in plan.users]
    return out
