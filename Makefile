# ModelGate: the two commands of the README are `make run` and `make test`.
SWIFT_BUILD_FLAGS ?=

.PHONY: run test build release generate check-generated test-swift test-python test-go bench bench-smoke clean

## Install what is missing, build, and start the gateway on its embedded defaults.
run: build
	./.build/debug/modelgate serve

## Install what is missing, build, and run every test: Swift, Python, Go, benchmark smoke.
test: check-generated build
	swift test --skip-build
	$(MAKE) test-python test-go bench-smoke

build:
	./scripts/bootstrap.sh
	swift build $(SWIFT_BUILD_FLAGS)
	swift build --build-tests $(SWIFT_BUILD_FLAGS)

release:
	./scripts/bootstrap.sh
	swift build -c release

## Regenerate C, Python and Go code from proto/.
generate:
	./scripts/bootstrap.sh
	./proto/generate.sh
	python3 docs/protocol-vectors/generate.py

check-generated:
	./scripts/bootstrap.sh
	./proto/generate.sh --check

test-swift: build
	swift test --skip-build

test-python:
	./clients/python/run-tests.sh

test-go:
	./clients/go/run-tests.sh

bench: release
	./bench/run.sh

bench-smoke:
	./bench/run.sh --smoke

clean:
	rm -rf .build
