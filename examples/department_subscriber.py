"""A department's system on CivicGrid's bus, in ~100 lines of kombu (社区吹哨，部门报到).

    python examples/department_subscriber.py \
        --amqp-uri amqp://dept.hb.chengjian:PASSWORD@127.0.0.1:5672/%2F \
        --district hb --department chengjian [--resolve-note 已处理] [--max-petitions N]

Reads the department's own durable queue (created by `python -m civicgrid.provision`;
nothing is declared here: the department's user may not configure anything), prints
every event, skips events it has already seen (delivery is at least once), answers
each `petition_dispatched` with an `accept` command and, once the accept succeeded,
with a `resolve` command. Commands carry `user_id` = the broker user (the broker
checks it) and are persistent; a message is acked only after it was handled, so a
crash means it comes again. Only the standard library and kombu are needed.
"""
import argparse
import json
import sys
import uuid

from kombu import Connection, Consumer, Queue


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--amqp-uri", required=True)
    parser.add_argument("--district", required=True)
    parser.add_argument("--department", required=True)
    parser.add_argument("--resolve-note", default="已处理（部门系统自动办结）")
    parser.add_argument("--max-petitions", type=int, default=None, help="exit after resolving this many")
    args = parser.parse_args(argv)

    prefix = f"{args.district}.{args.department}"
    queue = Queue(f"civicgrid.dept.{prefix}", no_declare=True)  # provisioned; not ours to declare
    seen = set()        # event ids already handled (a real system keeps them in its database)
    resolved = set()

    with Connection(args.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.ensure_connection(max_retries=10)
        user = conn.userid
        producer = conn.Producer()

        def command(action, petition_id, payload):
            body = {"command_id": str(uuid.uuid4()), "petition_id": petition_id,
                    "action": action, "payload": payload}
            producer.publish(body, exchange="civicgrid.commands", routing_key=f"{prefix}.{action}",
                             serializer="json", delivery_mode=2, user_id=user, retry=True)
            print(f"-> {action} {petition_id} ({body['command_id']})", flush=True)

        def on_event(event):
            if event.get("event_id") in seen:
                print(f"   (seen before: {event.get('event_id')})", flush=True)
                return
            data = event.get("data") or {}
            print(f"<- {event.get('type')} {data.get('petition_id')} {data.get('title', '')!r} "
                  f"status={data.get('status')}", flush=True)
            if event.get("type") == "petition_dispatched":
                command("accept", data["petition_id"], {})
            seen.add(event.get("event_id"))

        def on_outcome(outcome):
            error = outcome.get("error") or {}
            print(f"<- outcome {outcome.get('action')} {outcome.get('petition_id')}: "
                  + ("ok" if outcome.get("ok") else f"{error.get('status')} {error.get('message')} "
                                                    f"{json.dumps(error.get('errors'), ensure_ascii=False)}"),
                  flush=True)
            if outcome.get("ok") and outcome.get("action") == "accept":
                command("resolve", outcome["petition_id"], {"note": args.resolve_note})
            elif outcome.get("ok") and outcome.get("action") == "resolve":
                resolved.add(outcome["petition_id"])

        def on_message(body, message):
            if not isinstance(body, dict):  # nothing we can use: say so and drop it rather than loop on it
                print(f"!! not a JSON object: {body!r:.80}", file=sys.stderr, flush=True)
            elif message.delivery_info["routing_key"] == f"{prefix}.command_result":
                on_outcome(body)
            else:
                on_event(body)
            message.ack()  # only now: handled, and any command it caused confirmed by the broker

        # prefetch 1: the next message arrives after this one is acked, never in the middle of a publish
        with Consumer(conn, queues=[queue], callbacks=[on_message], accept=["json"], prefetch_count=1):
            print(f"listening on {queue.name} as {user}", flush=True)
            while args.max_petitions is None or len(resolved) < args.max_petitions:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
            print(f"resolved {len(resolved)} petitions: {', '.join(sorted(resolved))}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
