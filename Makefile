# sluice — the two commands a person needs:
#   make run    install missing Debian packages, build, start sluice on the embedded default
#   make test   the same set-up, then every test; ends with "N passed, N failed"
# and a few more:
#   make build  set up and build only          make asan   unit tests under ASan+UBSan
#   make fuzz   build the libFuzzer targets    make bench  start-up and idle-memory figures
#   make format reformat the C sources         make install PREFIX=/opt/sluice

BUILD ?= build
PREFIX ?= /usr/local
MESON_OPTS ?=

.PHONY: all deps test-deps build run test asan fuzz bench format install clean

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix $(PREFIX) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)

run: build
	@scripts/run.sh $(BUILD)

test: test-deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)
	@scripts/test.sh $(BUILD)

asan: test-deps
	@scripts/test.sh --asan-only

fuzz: test-deps
	@scripts/fuzz.sh build

bench: build
	@bench/idle.sh $(BUILD)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
