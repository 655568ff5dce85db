"""python -m services.petitions.analytics rebuild [--district hb] [--direct]

Rebuilds the read model from the petitions. By default it asks the running petitions service over
the broker (``AMQP_URI``) to do it (``petitions.rebuild_analytics``, audited), which works whatever
the store: with mongomock the data lives inside the service's process. ``--direct`` rebuilds against
``MONGO_URI`` from here, without the broker (a real MongoDB only).
"""
import argparse
import json
import sys

from civicgrid import config
from civicgrid.auth import CONTEXT_KEY, PLATFORM_ADMIN, issue_token
from civicgrid.events import utcnow

OPERATOR = "operator:analytics-rebuild"


def over_broker(district, timeout):
    from nameko.standalone.rpc import ClusterRpcProxy
    token, _ = issue_token(OPERATOR, None, [PLATFORM_ADMIN], ttl=600, name="analytics rebuild")
    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=timeout,
                         context_data={CONTEXT_KEY: token, "civicgrid_origin": {"channel": "cli"}}) as cluster:
        return cluster.petitions.rebuild_analytics(district)


def direct(district):
    from civicgrid.auth import AuthContext
    from civicgrid.store import open_database
    from .rebuild import rebuild
    if not config.mongo_uri():
        raise SystemExit("--direct needs MONGO_URI: with mongomock the data lives inside the petitions service")
    client, db = open_database("petitions")
    try:
        return rebuild(db, AuthContext(user_id=OPERATOR, roles=(PLATFORM_ADMIN,)), district, utcnow())
    finally:
        client.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m services.petitions.analytics", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("rebuild", help="recompute the read model from the petitions and swap it in")
    cmd.add_argument("--district", help="one district's code (default: every district)")
    cmd.add_argument("--direct", action="store_true", help="against MONGO_URI, without the broker")
    cmd.add_argument("--timeout", type=float, default=600, help="seconds to wait for the service")
    args = parser.parse_args(argv)
    results = direct(args.district) if args.direct else over_broker(args.district, args.timeout)
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
