"""The demo data set (`kam demo`): a small Chinese industrial supplier's key-account
book — users in two teams, the three cases of SPEC §11 told through real events, and
40 synthetic accounts with 150 opportunities. Everything is written through the
services, so the demo exercises the same code paths as real use: each deal is
recorded at its playbook's first stage and walked forward under a historical clock,
through each key node on evidence (evaluation, buying centre, criteria, milestones),
except where a manager forced a gate with a reason; some deals are won by signing,
some lost or abandoned.

`loader.load_demo` is the entry point; `synthetic.build_plan` is the pure, seeded
generator of the book (no database), `story` chooses each deal's fate and `teller`
tells its dated steps (`steps`), `cases` tells the three stories, `vocab` holds the
words."""
