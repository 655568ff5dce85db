"""The RPC entrypoint every service uses: domain errors are expected, not crashes."""
from nameko.rpc import rpc as nameko_rpc

from .errors import EXPECTED


def rpc(fn):
    return nameko_rpc(expected_exceptions=EXPECTED)(fn)
