"""``python -m services.points.check --district hb``: verify a district's ledger and say what is broken.

Asks the running platform (the gateway at ``--url``, default CIVICGRID_URL or http://127.0.0.1:8000)
as a district or platform administrator; prints the totals and every break, and exits 1 when the
ledger does not balance (entries that do not sum to zero, a broken chain, an overdrawn account, an
order without exactly its entries, stock that does not add up), 0 when it does.
"""
import argparse
import os
import sys

from civicgrid import config
from civicgrid.client import ApiError, Client


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify a district's points ledger")
    parser.add_argument("--district", required=True)
    parser.add_argument("--url", default=os.environ.get("CIVICGRID_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--user", help="a district or platform administrator, with --password "
                                       "(default: CIVICGRID_ADMIN_USER / CIVICGRID_ADMIN_PASSWORD)")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    user, password = (args.user, args.password) if args.user and args.password else config.admin_credentials()
    try:
        admin = Client(args.url).login(user, password)
        check = admin.get(f"/api/v1/districts/{args.district}/ledger/check")
    except ApiError as err:
        print(f"check: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"check: nothing answers at {args.url} ({err.__class__.__name__})", file=sys.stderr)
        return 2
    lines, balanced = render(check)
    print("\n".join(lines))
    return 0 if balanced else 1


def render(check):
    """The check's answer as the lines an operator reads, and whether the ledger balances."""
    lines = [f"district {check['district']}: {check['entries']} entries, sum {check['sum']}, "
             f"{check['accounts_with_entries']} accounts with entries, orders {check['orders']} "
             f"({check['orders_in_flight']} in flight)"]
    problems = ([f"overdrawn: {a}" for a in check["negative_accounts"]]
                + [f"transaction does not net to zero: {t}" for t in check["unbalanced_transactions"]]
                + [f"{b.get('account')}: {b['problem']}" for b in check["chain_breaks"]]
                + [f"order {b.get('order_id')}: {b['problem']}" for b in check["order_breaks"]]
                + [f"item {b.get('item_id')}: {b['problem']}" for b in check["stock_breaks"]])
    lines += [f"  BREAK {problem}" for problem in problems]
    lines.append("balanced" if check["balanced"] else f"NOT balanced: {len(problems)} problem(s)")
    return lines, check["balanced"]


if __name__ == "__main__":
    sys.exit(main())
