"""`sovnet api`: the policy API for remote operators, and its tokens.

    sovnet api --store DB [--host 127.0.0.1] [--port 8080] [--tokens FILE]
               [--certfile F --keyfile F] [--rate N/s] [--insecure] [--write]
    sovnet api token add --tokens FILE NAME --role ROLE [--store DB]   prints the token once
    sovnet api token list --tokens FILE [--json]
    sovnet api token revoke --tokens FILE NAME

FastAPI and uvicorn are imported only when a server starts, so that every other `sovnet`
command starts as fast without them.
"""

from __future__ import annotations

import argparse
import json

from sovnet.errors import SovnetError, UsageError

DESCRIPTION = """\
Serve the store's policy commands (policy, subscriber, device, history, enforcement, explain,
flowlog, retention) over HTTP(S) under /v1, to bearer tokens by role: regulator (national
orders, any scope), isp:NAME (its own ISP's scope and subscribers), auditor (reads only).
Every write is one store revision authored api:TOKEN-NAME. The OpenAPI document is at
/openapi.json. Loopback only unless TLS is given (or --insecure)."""


def add_parser(sub) -> None:
    """`sovnet api ...` on the subparsers of sovnet.cli's parser."""
    from sovnet.api.limits import RATE_FORM
    from sovnet.api.roles import ROLE_FORMS
    from sovnet.api.serve import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_RATE, TOKENS_NAME

    p = sub.add_parser("api", help="serve the policy commands to remote operators by role "
                                   "(HTTP API)", description=DESCRIPTION)
    p.add_argument("--store", metavar="DB", help="the policy store to serve")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"the address to listen on (default {DEFAULT_HOST}; another one needs "
                        "--certfile and --keyfile, or --insecure)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"default {DEFAULT_PORT}; 0: any free port")
    p.add_argument("--tokens", metavar="FILE",
                   help=f"the tokens file (default: {TOKENS_NAME} beside the store)")
    p.add_argument("--certfile", metavar="F", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--keyfile", metavar="F", help="... and this private key (PEM)")
    p.add_argument("--rate", default=DEFAULT_RATE,
                   help=f"requests per token, {RATE_FORM} (default {DEFAULT_RATE})")
    p.add_argument("--max-body", type=int, metavar="BYTES",
                   help="the largest request body (default 1 MiB)")
    p.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback address without TLS (tokens in clear)")
    p.add_argument("--write", action="store_true",
                   help="let the API change the store of a finished run (read-only otherwise)")
    ps = p.add_subparsers(dest="api_cmd", metavar="token")
    t = ps.add_parser("token", help="add, list or revoke the tokens of a tokens file")
    ts = t.add_subparsers(dest="token_op", required=True)
    a = ts.add_parser("add", help="add a token and print it (once: it is kept only hashed)")
    a.add_argument("--tokens", dest="token_file", metavar="FILE", required=True)
    a.add_argument("name")
    a.add_argument("--role", required=True, help=ROLE_FORMS)
    a.add_argument("--store", dest="token_store", metavar="DB",
                   help="check that an isp:NAME role names an ISP of this store")
    ls = ts.add_parser("list", help="the tokens' names, roles and creation times")
    ls.add_argument("--tokens", dest="token_file", metavar="FILE", required=True)
    ls.add_argument("--json", action="store_true", help="one JSON object a token")
    rv = ts.add_parser("revoke", help="remove a token: it is refused from the next request on")
    rv.add_argument("--tokens", dest="token_file", metavar="FILE", required=True)
    rv.add_argument("name")


def handle(args: argparse.Namespace) -> int:
    if args.api_cmd == "token":
        return _token(args)
    if not args.store:
        raise UsageError("api: no store (expected --store DB, the policy store to serve)")
    from sovnet.api.serve import serve

    serve(args.store, args.host, args.port, args.tokens, certfile=args.certfile,
          keyfile=args.keyfile, rate=args.rate, insecure=args.insecure,
          max_body=args.max_body, write=args.write)
    return 0


def _token(args: argparse.Namespace) -> int:
    from sovnet.api import tokens
    from sovnet.api.roles import Role, RoleError

    try:
        if args.token_op == "add":
            role = Role.parse(args.role)
            if args.token_store:
                role.check_known(_store_topology(args.token_store))
            token = tokens.add(args.token_file, args.name, role)
            # The one time the token is shown: on its own line, for `| tail -1` and friends.
            print(f"token {args.name!r} ({role}) added to {args.token_file}; it is shown "
                  "this once, and kept only hashed:")
            print(token)
        elif args.token_op == "list":
            entries = tokens.read(args.token_file)
            if args.json:
                for e in entries:
                    print(json.dumps(e.public(), separators=(",", ":")))
            else:
                for e in entries:
                    print(f"{e.name:<20} {e.role:<20} {e.created}")
                if not entries:
                    print(f"no tokens in {args.token_file}")
        else:
            gone = tokens.revoke(args.token_file, args.name)
            print(f"token {gone.name!r} ({gone.role}) revoked")
    except (tokens.TokenError, RoleError) as e:
        raise UsageError(f"api: token {args.token_op}: {e}") from None
    return 0


def _store_topology(db: str):
    from sovnet.store import open_store

    try:
        with open_store(db, create=False) as store:
            return store.topology()
    except SovnetError as e:
        raise UsageError(f"api: token add: --store {db}: {e}") from None
