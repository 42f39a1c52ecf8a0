# pos — payment terminal. `make sim` runs the desktop simulator, `make test`
# runs every test (installing the Debian packages the tests need).
GO      ?= go
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# A release is a tag vMAJOR.MINOR.PATCH on the commit; anything else is a
# development build, 0.0.0-dev+COMMIT, older than every release.
VERSION ?= $(shell git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' | grep . || echo 0.0.0-dev+$(COMMIT))
# Static, stripped and reproducible: no cgo, no paths, no build id.
LDFLAGS := -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BUILD   := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)"
DIST    := dist
FUZZTIME ?= 10s

.PHONY: sim test build arm arm64 android cross bench fuzz lint deps clean scenarios reliability hostsim mutants bundle source-dist image qemu image-arm64 qemu-arm64 qemu-devices

## sim: the terminal on the desktop simulator (console + fake devices)
sim: build
	./$(DIST)/pos run --board sim --data posdata

## build: the host binary in dist/pos
build:
	$(BUILD) -o $(DIST)/pos ./cmd/pos

arm:
	GOOS=linux GOARCH=arm GOARM=7 $(BUILD) -o $(DIST)/pos-linux-armv7 ./cmd/pos
arm64:
	GOOS=linux GOARCH=arm64 $(BUILD) -o $(DIST)/pos-linux-arm64 ./cmd/pos
android:
	GOOS=android GOARCH=arm64 $(BUILD) -o $(DIST)/pos-android-arm64 ./cmd/pos
cross: arm arm64 android

## bundle: a signed update bundle of the linux/arm build for BOARD, signed
## with KEY (a development key is made in dist/ when KEY does not exist):
##   make bundle BOARD=rpi4-pos KEY=/secure/release-2026.pem
BOARD ?= rpi4-pos
KEY   ?= $(DIST)/dev-release.pem
# The bundle's creation time is the commit's: the same commit and key
# give the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
bundle: build arm
	@test -f $(KEY) || ./$(DIST)/pos bundle keygen $(KEY) $(basename $(KEY)).pub
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) ./$(DIST)/pos bundle create --key $(KEY) --version $(VERSION) --board $(BOARD) \
		--out $(DIST)/pos-$(VERSION)-$(BOARD)-linux-arm.bundle $(DIST)/pos-linux-armv7

## image: the terminal image for qemu-system-arm -M virt in dist/image (Debian's
## armmp kernel, pos as /init, a data disk); qemu: boot it on this console.
## image-arm64, qemu-arm64: the same for a 64-bit terminal (qemu-system-aarch64)
image: deps
	@scripts/image.sh dist/image
qemu: image
	scripts/qemu.sh dist/image
image-arm64: deps
	@ARCH=arm64 scripts/image.sh dist/image-arm64
qemu-arm64: image-arm64
	scripts/qemu.sh dist/image-arm64

## qemu-devices: the image with its PN532 reader and printer emulated on this
## machine (pos emulate) and the host simulator, in tmux beside its console
qemu-devices: image
	scripts/qemu-devices.sh dist/image

## source-dist: dist/pos-src-VERSION.tar.gz, HEAD with its Go modules vendored:
## what buildroot/package/pos builds from, offline (docs/buildroot.md)
source-dist:
	@scripts/source-dist.sh $(DIST) $(VERSION)

## deps: Debian packages the tests use (qemu-user for ARM, unifont for receipts, tmux for the console test)
deps:
	@scripts/deps.sh

## test: vet, unit tests, scenarios, fuzz seeds, ARM binary under qemu, console under tmux
test: deps
	@scripts/image.sh --kernel
	@ARCH=arm64 scripts/image.sh --kernel
	$(GO) vet ./...
	POS_REQUIRE_QEMU=1 POS_REQUIRE_TMUX=1 POS_REQUIRE_LIBNFC=1 POS_REQUIRE_ZBAR=1 POS_REQUIRE_IMAGE=1 $(GO) test -count=1 ./...

## scenarios: every scenario script through the built binary
scenarios: build
	./$(DIST)/pos scenario testdata/scenarios/*.txt

## reliability: 1,000 crash runs, 10,000 host-fault runs, 100 power cuts of an
## update and 1,000 kills of the slot switch (make test runs a short version);
## then the terminal image under qemu: 100 power cuts, and an update round with
## its rollback (about 90 minutes)
reliability: deps
	@scripts/image.sh --kernel
	$(GO) test -count=1 -timeout 60m -run 'Campaign|UpdatePowerCut' ./cmd/pos -crash-runs 1000 -fault-runs 10000 -update-cuts 100 -v
	$(GO) test -count=1 -timeout 30m -run 'Kill' ./app/bootslot -kill-runs 1000 -kill-random-runs 500 -v
	POS_REQUIRE_IMAGE=1 POS_QEMU_CUTS=100 POS_QEMU_UPDATE=1 $(GO) test -count=1 -timeout 150m -run '^TestImage(PowerCutCampaign|Update)$$' ./cmd/pos -v

## mutants: plant each known bug in turn and check the tests catch it (not in make test)
mutants:
	@scripts/mutants.sh

## hostsim: the acquirer/issuer simulator as its own process
hostsim:
	$(BUILD) -o $(DIST)/hostsim ./cmd/hostsim

## bench: figures as BENCH lines
bench: build cross
	@scripts/bench.sh

## fuzz: a short run of every fuzz target
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

clean:
	rm -rf $(DIST)
