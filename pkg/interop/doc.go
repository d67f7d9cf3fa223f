// Package interop checks LoRA Lab's files against the libraries the rest of the ecosystem
// reads them with: transformers loads our checkpoints (base and merged) and gives our logits,
// PEFT loads our adapters (and merge_and_unload equals our merged export), we load adapters that
// PEFT trained and saved, AutoTokenizer renders our chat templates as we do, and
// datasets/pyarrow read our Parquet and write Parquet we read.
//
// The package has tests only. The Python side is testdata/hf_interop.py and
// testdata/parquet_interop.py, run with the virtual environment that `make test` installs from
// docker/requirements-test.txt ($LORALAB_CACHE/venv-test, or $LORALAB_PYTHON). Without it the
// tests that need Python skip with a message, except under CI=true, where they fail. The
// committed Parquet fixtures in testdata/parquet (made by parquet_interop.py) are checked
// without Python.
package interop
