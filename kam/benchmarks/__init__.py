"""`kam bench` (issue 10): a deterministic, realistic data set of any size, loaded
through the import (`generate`), and the benchmarks that measure KAM against the
floor of the same work on the same database (`run`): the pipeline dashboard against
hand-written SQL, a filtered opportunity list under concurrent clients, the import
against a raw `executemany`, and the whole-book risk scan against a raw read of its
tables. Each prints its figures and a ratio against its goal; bench/README.md says
how to run them, docs/benchmarks.md holds the results.

Benchmarks are not tests: nothing here asserts a time. The tests in tests/bench/ check
that the generator is deterministic and realistic and that the commands run."""
