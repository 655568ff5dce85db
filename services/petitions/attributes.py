"""A category's extra fields (Open311 service attributes), checked on submit."""
from civicgrid.errors import Invalid


def _check(field, value):
    kind = field["type"]
    keys = {c["key"] for c in field.get("choices") or []}
    if kind == "string":
        if not isinstance(value, str) or len(value) > 500:
            return "must be text of at most 500 characters"
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
    elif kind == "single_choice":
        if value not in keys:
            return f"must be one of {', '.join(sorted(keys))}"
    elif kind == "multiple_choice":
        if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value) \
                or any(v not in keys for v in value):
            return f"must be a list of distinct choices from {', '.join(sorted(keys))}"
    return None


def validate(category, attributes):
    """Return the attributes the category defines, or raise ``Invalid`` naming every bad one."""
    fields = {f["code"]: f for f in category.get("fields") or []}
    errors = {}
    for code in attributes:
        if code not in fields:
            errors[f"attributes.{code}"] = [f"the category {category['category']!r} has no field {code!r}"]
    for code, field in fields.items():
        value = attributes.get(code)
        if value is None or value == "" or value == []:
            if field.get("required"):
                errors[f"attributes.{code}"] = [f"required: {field.get('name', code)}"]
            continue
        problem = _check(field, value)
        if problem:
            errors[f"attributes.{code}"] = [problem]
    if errors:
        raise Invalid("invalid attributes: " + ", ".join(sorted(errors)), errors)
    return {code: attributes[code] for code in fields if attributes.get(code) not in (None, "", [])}
