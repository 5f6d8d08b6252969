# rich-init: build, test, bench, install.
# `make` builds static, stripped binaries into build/.

TARGET      ?= x86_64-unknown-linux-gnu
CARGO       ?= cargo
# Static-pie, with packed relative relocations (DT_RELR, glibc 2.36: the relocation table
# a static-pie reads at start-up shrinks from 90 KB to 2 KB) and identical code folded
# (lld's --icf=all: 20 KB less than --icf=safe; Rust promises no distinct function
# addresses, and nothing here compares them).
STATIC      := -C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all
RELEASE_DIR := target/$(TARGET)/release
PREFIX      ?= /usr/local
# Where podman and CRI-O look for OCI hook definitions (not under PREFIX: they read this one).
HOOKSDIR    ?= /usr/share/containers/oci/hooks.d
DESTDIR     ?=
PACKAGES    := $(shell sed -e 's/\#.*//' .ci/debian-packages)

.PHONY: all deps build test unit integration lint lint-static lint-layout lint-listen-server bench images install clean fuzz fuzz-deps

all: build

# Installs the Debian packages the tests and benchmarks use (needs root).
deps:
	apt-get update
	apt-get install -y --no-install-recommends $(PACKAGES)

# rich-init is built without features: it never links tokio/tonic. upgrade-helper needs
# the `containerd` feature (and protoc, Debian's protobuf-compiler, to build its client).
# rich-init is linked by layout-link (integration/layout/link.rs), which profiles the binary
# it links and links it again with its start-up path together (issue 16). Its path carries
# a hash of its source, so that a changed layout-link relinks rich-init.
RUSTC       ?= rustc
LAYOUT_SRC  := integration/layout/link.rs
LAYOUT_LINK := target/layout/link-$(shell sha256sum $(LAYOUT_SRC) | cut -c1-16)

$(LAYOUT_LINK): $(LAYOUT_SRC)
	mkdir -p target/layout
	# One shell line: $$$$ (the shell's pid) names this make's temporary file.
	$(RUSTC) --edition 2021 -O -D warnings -o $@.$$$$.tmp $(LAYOUT_SRC) && mv -f $@.$$$$.tmp $@

build: $(LAYOUT_LINK)
	RUSTFLAGS="$(STATIC)" $(CARGO) rustc --release --locked --target $(TARGET) --bin rich-init -- -C linker=$(CURDIR)/$(LAYOUT_LINK)
	RUSTFLAGS="$(STATIC)" $(CARGO) build --release --locked --target $(TARGET) --features containerd --bin upgrade-helper
	mkdir -p build
	# Copy then rename: a running binary (a test, a bench) keeps its old inode. The temporary
	# name holds the shell's pid: two builds at once (tests run make install) never share it.
	for b in rich-init upgrade-helper; do \
		cp $(RELEASE_DIR)/$$b build/.$$b.$$$$.tmp && mv -f build/.$$b.$$$$.tmp build/$$b || exit 1; \
		file build/$$b | grep -q 'static' || { echo "build/$$b is not statically linked" >&2; exit 1; }; \
	done

# Unit tests, then the integration tests against the static release binary.
# The tests' upgrade-helper is cargo's debug build with the test-only fault injection;
# the one `make` builds cannot reach it.
test: build
	RICH_INIT_BIN=$(CURDIR)/build/rich-init $(CARGO) test --locked --features fault-injection -- --test-threads=2

unit:
	$(CARGO) test --locked --lib

integration: build
	RICH_INIT_BIN=$(CURDIR)/build/rich-init $(CARGO) test --locked --features fault-injection --test integration -- --test-threads=2

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked --all-targets --all-features -- -D warnings
	$(MAKE) lint-static
	$(MAKE) lint-layout
	$(MAKE) lint-listen-server

# The static release binary compiles what only it has (src/sys/libc_subst.rs, nounwind.rs).
lint-static:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) clippy --locked --release --target $(TARGET) --bin rich-init -- -D warnings

# layout-link is built by rustc alone (no crates), outside cargo's fmt and clippy.
lint-layout:
	rustfmt --edition 2021 --check $(LAYOUT_SRC)
	mkdir -p target/lint
	clippy-driver --edition 2021 -D warnings -o target/lint/layout-link $(LAYOUT_SRC)

# The server inside the zero-refused upgrade test's images (issue 17), built by rustc alone
# at test time (integration/listen_image.rs), outside cargo's fmt and clippy.
LISTEN_SERVER_SRC := integration/listen/server.rs
lint-listen-server:
	rustfmt --edition 2021 --check $(LISTEN_SERVER_SRC)
	mkdir -p target/lint
	clippy-driver --edition 2021 -D warnings -o target/lint/listen-server $(LISTEN_SERVER_SRC)

bench: build images
	RICH_INIT_BIN=$(CURDIR)/build/rich-init $(CARGO) bench --locked --bench peers

# OCI image-layout tarballs in build/images/ for `ctr images import` (see images/README.md):
# each recipe images/NAME/build writes its images into the directory it is given.
IMAGE_RECIPES ?= rich-busybox rich-debian
images: build
	for r in $(IMAGE_RECIPES); do \
		RICH_INIT_BIN=$(CURDIR)/build/rich-init images/$$r/build build/images || exit 1; \
	done

# Fuzzing (integration/fuzz, cargo-fuzz on the nightly toolchain): each target runs for
# FUZZ_SECONDS from a fresh copy of its seed corpus in build/fuzz/; a table of executions
# and coverage follows, and any crash fails the run. CI runs `make fuzz FUZZ_SECONDS=20`.
FUZZ_SECONDS      ?= 300
FUZZ_TARGETS      ?= service_config oci_state cli_args control_protocol upgrade_journal
CARGO_FUZZ_VERSION = 0.13.2
fuzz: fuzz-deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) CARGO=$(CARGO) integration/fuzz/run $(FUZZ_TARGETS)

# cargo-fuzz is installed when missing; the nightly toolchain must already be there.
fuzz-deps:
	@$(CARGO) +nightly --version >/dev/null 2>&1 || { echo "make fuzz: the nightly Rust toolchain is missing; install it with: rustup toolchain install nightly" >&2; exit 1; }
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION)

# Presets are built into the binary; the copies under share/ are examples for services.d.
install: build
	install -D -m 0755 build/rich-init $(DESTDIR)$(PREFIX)/bin/rich-init
	install -D -m 0755 build/upgrade-helper $(DESTDIR)$(PREFIX)/bin/upgrade-helper
	install -d $(DESTDIR)$(PREFIX)/lib/rich-init $(DESTDIR)$(PREFIX)/share/rich-init/presets
	install -m 0755 initscripts/*.sh $(DESTDIR)$(PREFIX)/lib/rich-init/
	install -m 0644 initscripts/*.toml $(DESTDIR)$(PREFIX)/share/rich-init/presets/
	install -d $(DESTDIR)$(HOOKSDIR)
	for f in initscripts/oci-hooks.d/*.json; do \
		sed -e 's|@BINDIR@|$(PREFIX)/bin|' $$f > $(DESTDIR)$(HOOKSDIR)/$$(basename $$f).tmp && \
		chmod 0644 $(DESTDIR)$(HOOKSDIR)/$$(basename $$f).tmp && \
		mv -f $(DESTDIR)$(HOOKSDIR)/$$(basename $$f).tmp $(DESTDIR)$(HOOKSDIR)/$$(basename $$f) || exit 1; \
	done

clean:
	rm -rf build
	$(CARGO) clean

# Issue 7's soak: a crash-looping service and 10 MB/s of checked service output through
# rich-init (pid 1 of a pid namespace) for SOAK_SECONDS; prints the init's RSS at start and end.
SOAK_SECONDS ?= 600
.PHONY: soak
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) RICH_INIT_BIN=$(CURDIR)/build/rich-init $(CARGO) test --locked --features fault-injection --test integration stress::soak -- --nocapture
