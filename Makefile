# carve: a thin layer over CMake. Each target installs what it needs first (scripts/deps.sh).
#   make            build build/libcarve.a, build/libcarve.so, build/libcarve-malloc.so, build/carve
#   make demo       the lab's showcase: replay traces through every allocator, draw heap maps
#   make test       every test: release, ASan+UBSan, and TSan builds (scripts/test.sh)
#   make bench      benchmarks, side by side with glibc, jemalloc, tcmalloc and mimalloc
#   make stress     the multi-threaded stress tests at larger scale
#   make fuzz       libFuzzer harnesses (clang), FUZZ_SECONDS each
#   make install    PREFIX=/usr/local: headers, libraries, carve, carve.pc, CMake package
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
FUZZ_SECONDS ?= 60
CMAKE_RELEASE = cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX)

.PHONY: all build demo test bench stress fuzz install clean

all: build

build:
	@scripts/deps.sh build
	@$(CMAKE_RELEASE) >/dev/null
	@cmake --build build -j $(JOBS)

# the demo needs only carve and its recorder: a fresh clone builds them in ~10 s, not everything
demo:
	@scripts/deps.sh test
	@$(CMAKE_RELEASE) >/dev/null
	@cmake --build build -j $(JOBS) --target carve_cli carve_record
	@scripts/demo.sh

test:
	@scripts/deps.sh test
	@JOBS=$(JOBS) scripts/test.sh

bench: build
	@scripts/deps.sh bench
	@scripts/bench.sh

stress: build
	@scripts/deps.sh test
	@scripts/stress.sh

fuzz:
	@scripts/deps.sh fuzz
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCARVE_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

install: build
	@cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-tsan build-fuzz
