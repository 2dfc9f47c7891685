# Embryonic processes on pidfs: build, boot and test the patched kernel.
# See README.md. Every target installs what it needs first (make deps).

SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help deps linux build run test bench bench-scaling fuzz baseline export check-series fresh-test clean

help:
	@echo "make run           build the patched kernel, boot it under QEMU (TCG), show it working"
	@echo "make test          host checks + debug kernel + KUnit + kselftests; ends with 'N passed, N failed'"
	@echo "make linux         prepare linux/ (Debian base tree + patches/ applied with git am)"
	@echo "make build         build the kernel (the debug config make test uses)"
	@echo "make bench         spawnbench in the guest (base config; instruction clock, then wall time)"
	@echo "make bench-scaling spawnbench from parents of growing memory, fds and threads (faulting ones too)"
	@echo "make fuzz          spawnfuzz campaigns in the guest (debug kernel; SEED, CAMPAIGNS, OPS, MEDDLER=1, NAMESPACES=1, NPROC=1, SECCOMP=1, KASAN=1)"
	@echo "make export        write the commits base..HEAD of linux/ to patches/"
	@echo "make check-series  apply, build and checkpatch every patch in order"
	@echo "make deps          install the toolchain and tools (idempotent)"
	@echo "make fresh-test    time 'make test' in a new debootstrap'd bookworm root (as on a bare machine)"

deps:
	@bash ci/deps.sh

linux: deps
	@bash ci/linux.sh

build: linux
	@bash ci/build.sh debug

run: build
	@bash ci/run.sh

test: linux
	@bash ci/test.sh

bench: linux
	@bash ci/bench.sh

bench-scaling: linux
	@bash ci/bench-scaling.sh

fuzz: linux
	@bash ci/fuzz.sh

# Record which tests pass on the tree as it is (run it on the unpatched
# base: 'make baseline' with an empty patches/ or with LINUX_DIR).
baseline: linux
	@RECORD_BASELINE=1 bash ci/test.sh

export: deps
	@bash ci/export.sh

check-series: linux
	@bash ci/check-series.sh

# Not a dependency of anything: it makes its own root and caches.
fresh-test:
	@bash ci/fresh-machine.sh test

clean:
	rm -rf out
