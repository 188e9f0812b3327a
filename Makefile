# avtruth: the two set-up commands of the README.
#   make demo   install missing Debian packages, configure, build, run the demo
#   make test   the same set-up, then the whole test suite (plain build and sanitizer build)
# Run as root on a fresh Debian 12 machine; as another user the missing packages are listed
# with the exact apt-get line and the make stops.

PACKAGES := cmake make gcc pkg-config libpcap-dev libpng-dev libhdf5-dev hdf5-tools \
            libyaml-dev libjansson-dev libssl-dev libcmocka-dev libdeflate-dev libisal-dev libturbojpeg0-dev \
            libsqlite3-dev libzstd-dev liblz4-dev zlib1g-dev libgsl-dev zstd lz4 python3 python3-numpy python3-yaml \
            python3-h5py python3-opencv python3-torch tcpdump \
            hdf5-filter-plugin-blosc-serial openmpi-bin libopenmpi-dev slurm-wlm munge
BUILD    ?= build
SANBUILD ?= build-sanitize
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: deps configure build demo test test-plain test-sanitize bench clean

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages; install them as root with:"; \
	    echo "  apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: configure
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/avtruth demo -o demo

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# The MPI and Slurm tests (label scaleout: whole clusters of processes, slow under ASan)
# run in the plain suite only.
test-sanitize: deps
	cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DAVT_SANITIZERS="address;undefined"
	cmake --build $(SANBUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(SANBUILD) --output-on-failure -j$(JOBS) -LE scaleout

test: test-plain test-sanitize

bench: build
	cmake --build $(BUILD) --target bench

clean:
	rm -rf $(BUILD) $(SANBUILD) demo
