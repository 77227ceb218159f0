"""The `kam` command: serve, user add, token, demo (and `manage` for Django's own
commands). Every command works on a fresh data folder: it creates and migrates the
database first."""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import sys
from collections.abc import Sequence


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.config.settings")
    import django

    django.setup()


def positive(text: str) -> int:
    """argparse type: a whole number of 1 or more (1,000,000 and 1_000_000 too)."""
    try:
        number = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is too few: give 1 or more")
    return number


def _migrate(verbose: bool = False) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if verbose else 0)


def cmd_serve(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.db import connections
    from waitress.server import create_server

    from kam.config.wsgi import application
    from kam.core import serving

    _migrate()
    from kam.opportunities.selectors import stages_missing_from_methodology

    missing = stages_missing_from_methodology()
    if missing:
        listing = "; ".join(f"{book}/{stage} ({n} deals)" for book, stage, n in missing)
        print(
            f"kam: deals use playbook stages that no playbook file defines: {listing}. "
            f"Put the playbook file back in {settings.DATA_DIR / 'playbooks'} (or keep the "
            "stage key in it), then start again.",
            file=sys.stderr,
        )
        return 2
    workers = args.workers if args.workers is not None else serving.default_workers()
    if workers > 1 and not hasattr(os, "fork"):
        print("KAM: note: --workers needs fork (Linux, macOS): serving with one process.")
        workers = 1
    try:
        sockets = serving.listen(args.host, args.port)
    except OSError as exc:
        print(
            f"kam: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. Another "
            "server may be using the port: stop it, or choose another with --port.",
            file=sys.stderr,
        )
        return 2
    where = settings.DATABASES["default"]["NAME"]
    print(f"KAM: data in {where}", flush=True)
    print(
        f"KAM: serving on http://{args.host}:{args.port}/ with {workers} "
        f"{'process' if workers == 1 else 'processes'} of {args.threads} threads  "
        "(Ctrl+C stops)",
        flush=True,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get(
        "KAM_ALLOWED_HOSTS"
    ):
        print(
            "KAM: note: only requests for 127.0.0.1/localhost are answered; set "
            "KAM_ALLOWED_HOSTS to the names people use to reach this server "
            "(e.g. KAM_ALLOWED_HOSTS=kam.example.com,10.0.0.5).",
            flush=True,
        )
    # Behind a TLS proxy (KAM_BEHIND_PROXY): trust its X-Forwarded-Proto/-For, from its
    # address only, so KAM sees https and the client's address.
    proxy = (
        {
            "trusted_proxy": settings.KAM_TRUSTED_PROXY,
            "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"},
        }
        if settings.KAM_BEHIND_PROXY
        else {}
    )

    def run() -> None:
        create_server(
            application,
            sockets=sockets,
            threads=args.threads,
            ident="kam",
            clear_untrusted_proxy_headers=True,
            **proxy,
        ).run()

    # Forked processes must not share the start-up's database connection.
    connections.close_all()
    # What was loaded to start (Django, the methodology, the URL map) lives as long as
    # the server: out of the collector's way, so its full collections stay short (and,
    # in forked processes, its pages stay shared).
    gc.collect()
    gc.freeze()
    if workers == 1:
        run()
        return 0
    return serving.supervise(run, workers, lambda line: print(line, flush=True))


def cmd_user_add(args: argparse.Namespace) -> int:
    from kam.users.services import user_create

    _migrate()
    password = args.password
    generated = False
    if not password:
        password = secrets.token_urlsafe(12)
        generated = True
    user = user_create(
        username=args.name,
        role=args.role,
        team=args.team,
        password=password,
        display_name=args.display_name or "",
    )
    team = f", team {user.team}" if user.team else ""
    print(f"Created {user.role} {user.username}{team}.")
    if generated:
        print(f"Password: {password}")
    return 0


def _user_named(name: str):
    from kam.core.errors import NotFound
    from kam.users.models import User

    user = User.objects.filter(username=name).first()
    if user is None:
        raise NotFound(f"No user named {name!r}; create one with 'kam user add {name} --role rep'.")
    return user


def _when(value) -> str:
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def cmd_token(args: argparse.Namespace) -> int:
    from kam.core.errors import NotFound
    from kam.users.models import ApiToken
    from kam.users.services import token_create, token_revoke, token_revoke_all

    _migrate()
    user = _user_named(args.name)
    if args.list:
        tokens = ApiToken.objects.filter(user=user).order_by("created_at", "pk")
        if not tokens:
            print(f"{user.username} has no API tokens.")
        for t in tokens:
            print(
                f"{t.prefix}  {t.name or '-'}  created {_when(t.created_at)}  "
                f"last used {_when(t.last_used_at)}  "
                + (f"revoked {_when(t.revoked_at)}" if t.revoked_at else "live")
            )
        return 0
    if args.revoke:
        token = token_revoke(actor=None, user=user, prefix=args.revoke)
        print(f"Revoked {token.prefix}… of {user.username}.")
        return 0
    if args.revoke_all:
        count = token_revoke_all(actor=None, user=user)
        print(f"Revoked {count} token{'s' if count != 1 else ''} of {user.username}.")
        return 0
    if not user.is_active:
        raise NotFound(f"User {args.name!r} is disabled; 'kam user enable {args.name}' first.")
    raw = token_create(user=user, name=args.label or "cli")
    print(f"API token for {user.username} (shown once; send as 'Authorization: Bearer …'): {raw}")
    return 0


def cmd_user_set_active(args: argparse.Namespace) -> int:
    from kam.users.services import user_set_active

    _migrate()
    user = _user_named(args.name)
    active = args.user_command == "enable"
    change = user_set_active(actor=None, user=user, active=active)
    if not change.changed:
        print(f"{user.username} is already {'enabled' if active else 'disabled'}.")
    elif active:
        print(f"Enabled {user.username}; they sign in again and need new API tokens.")
    else:
        print(
            f"Disabled {user.username}: {change.sessions_ended} sessions ended, "
            f"{change.tokens_revoked} API tokens revoked."
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kam.demo.loader import DemoRefused, load_demo

    _migrate()
    try:
        load_demo(out=sys.stdout)
    except DemoRefused as exc:
        print(str(exc), file=sys.stderr)
        return 0 if exc.already_loaded else 3
    return 0


def _actor(name: str | None):
    """The user a CLI import or export acts as: the one named, or the only admin."""
    from kam.core.errors import NotFound
    from kam.users.models import Role, User

    if name:
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise NotFound(f"No active user named {name!r}; see 'kam user add --help'.")
        return user
    admins = list(User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id")[:2])
    if len(admins) != 1:
        raise NotFound(
            "Say who imports with --as USER (the records' history names them); "
            + (
                "there is no admin yet: create one with 'kam user add NAME --role admin'."
                if not admins
                else "there are several admins."
            )
        )
    return admins[0]


def cmd_import(args: argparse.Namespace) -> int:
    from kam.transfer.cli_import import run_import

    _migrate()
    return run_import(
        args.file,
        actor=_actor(args.as_user),
        kind=args.kind,
        valid_only=args.valid_only,
        dry_run=args.dry_run,
        out=sys.stdout,
    )


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    _migrate()
    path = Path(args.file)
    if path.suffix.lower() == ".json":
        from kam.transfer.dump import write_dump

        summary = write_dump(path)
    elif path.suffix.lower() == ".xlsx":
        from kam.transfer.workbook import write_workbook

        summary = write_workbook(path, user=_actor(args.as_user) if args.as_user else None)
    else:
        from kam.core.errors import ValidationFailed

        raise ValidationFailed(
            f"Export to a .xlsx (a workbook of every list) or a .json file (a dump that "
            f"'kam restore' loads), not {path.name!r}.",
            field="file",
        )
    print(summary)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from kam.transfer.backup import backup

    _migrate()
    print(backup(args.file))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.file)
    if path.suffix.lower() == ".json":
        from kam.transfer.dump import load_dump

        _migrate()
        print(load_dump(path))
    else:
        from kam.transfer.backup import restore_backup

        print(restore_backup(path, replace=args.replace))
        _migrate()  # a backup from an older KAM: bring its schema up to this one
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from kam.benchmarks.cli import main as bench

    _migrate()
    return bench(args, out=sys.stdout)


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kam manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kam",
        description="KAM — key-account sales management.",
        epilog="Data lives in $KAM_DATA_DIR (default ./data); set KAM_DATABASE_URL for PostgreSQL.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the web UI and API (migrates the database first)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--threads", type=positive, default=8, help="threads of each process (default 8)"
    )
    serve.add_argument(
        "--workers",
        type=positive,
        default=None,
        help="server processes (default: one per core, at most 4; 1 on Windows)",
    )
    serve.set_defaults(func=cmd_serve)

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_sub.add_parser("add", help="create a user")
    add.add_argument("name", help="login name")
    add.add_argument("--role", required=True, choices=["rep", "manager", "admin"])
    add.add_argument("--team", help="team name (created if new)")
    add.add_argument("--password", help="password (if omitted, one is generated and printed)")
    add.add_argument("--display-name", help="name shown in the UI, e.g. 张伟")
    add.set_defaults(func=cmd_user_add)

    for verb, what in (
        ("disable", "disable a user: ends their sessions, revokes their tokens"),
        ("enable", "enable a disabled user again"),
    ):
        toggle = user_sub.add_parser(verb, help=what)
        toggle.add_argument("name", help="login name")
        toggle.set_defaults(func=cmd_user_set_active)

    token = sub.add_parser(
        "token", help="print a new API token for a user (the last word); list or revoke tokens"
    )
    token.add_argument("name", help="login name")
    token.add_argument("--label", help="what the token is for")
    token_what = token.add_mutually_exclusive_group()
    token_what.add_argument(
        "--list", action="store_true", help="list the user's tokens (prefix, label, dates)"
    )
    token_what.add_argument(
        "--revoke", metavar="PREFIX", help="revoke the token starting with PREFIX (12 characters)"
    )
    token_what.add_argument(
        "--revoke-all", action="store_true", help="revoke every token of the user"
    )
    token.set_defaults(func=cmd_token)

    demo = sub.add_parser("demo", help="load the demo data into an empty database")
    demo.set_defaults(func=cmd_demo)

    imp = sub.add_parser(
        "import",
        help="import accounts, contacts, opportunities or revenue from .xlsx/.csv "
        "(checked in full first; nothing is written unless every row is valid)",
    )
    imp.add_argument("file", help="an .xlsx (one sheet per kind) or a .csv (UTF-8 or GB18030)")
    imp.add_argument(
        "--kind",
        choices=["accounts", "contacts", "opportunities", "revenue"],
        help="what a .csv holds (default: told by its headers)",
    )
    imp.add_argument(
        "--as", dest="as_user", help="the user the import acts as (default: the admin)"
    )
    imp.add_argument(
        "--valid-only", action="store_true", help="import the valid rows, skip those with errors"
    )
    imp.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser(
        "export", help="export everything: FILE.xlsx (every list) or FILE.json (for kam restore)"
    )
    exp.add_argument("file", help="the file to write, .xlsx or .json")
    exp.add_argument(
        "--as", dest="as_user", help="an .xlsx holds what this user sees (default: everything)"
    )
    exp.set_defaults(func=cmd_export)

    bak = sub.add_parser(
        "backup", help="copy the database while it serves (SQLite online backup, or pg_dump)"
    )
    bak.add_argument("file", nargs="?", help="where to write (default: <data>/backups/…)")
    bak.set_defaults(func=cmd_backup)

    res = sub.add_parser(
        "restore", help="restore a backup, or load a .json export into an empty instance"
    )
    res.add_argument("file", help="a file written by 'kam backup' or 'kam export FILE.json'")
    res.add_argument(
        "--replace", action="store_true", help="replace the data this instance holds now"
    )
    res.set_defaults(func=cmd_restore)

    bench = sub.add_parser(
        "bench",
        help="developer tool: generate a large data set through the import and measure KAM "
        "against raw SQL on it (see bench/README.md)",
    )
    from kam.benchmarks.cli import add_arguments as bench_arguments

    bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _setup_django()
    except Exception as exc:  # a broken config or methodology file: say which and stop
        from django.core.exceptions import ImproperlyConfigured

        if isinstance(exc, ImproperlyConfigured):
            print(f"kam: configuration error: {exc}", file=sys.stderr)
            return 2
        raise
    from kam.core.errors import DomainError

    try:
        return int(args.func(args) or 0)
    except DomainError as exc:
        field = f" ({exc.field})" if exc.field else ""
        print(f"kam: {exc.message}{field}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
