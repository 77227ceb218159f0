"""The demo data set (`kam demo`): a small Chinese industrial supplier's key-account
book — users in two teams, the three cases of SPEC §11 told through real events, and
~40 synthetic accounts with ~150 opportunities. Everything is written through the
services, so the demo exercises the same code paths as real use.

`loader.load_demo` is the entry point; `synthetic.build_plan` is the pure, seeded
generator (no database), `cases` tells the three stories, `vocab` holds the words."""
