"""Schema loading that turns marshmallow's complaint into the platform's ``Invalid``."""
import functools

from marshmallow import ValidationError

from .errors import Invalid


def load(schema, data):
    if data is None:
        data = {}
    try:
        return schema.load(data)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        fields = ", ".join(sorted(str(k) for k in messages))
        raise Invalid(f"invalid input: {fields}", messages)


@functools.lru_cache(maxsize=None)
def schema(cls, **options):
    """One instance per schema class and options: building one copies every declared field (a quarter of a
    millisecond for a petition's), while an instance keeps nothing between loads and dumps."""
    return cls(**options)
