# Two set-up commands on a fresh Debian 12 machine (each installs what it needs):
#   make run    - builds Backsight and runs anomaly detection on the bundled real series
#   make test   - builds everything and runs all tests (ctest)
BUILD ?= build
JOBS ?= $(shell nproc)
BACKSIGHT_DATA ?= $(abspath ../shared/data)
export BACKSIGHT_DATA

.PHONY: deps deps-test build run install test asan bench nab loghub m4 fuzz format clean

deps:
	./scripts/install-deps.sh

# Test dependencies: adds the real Prometheus, Alertmanager and node-exporter used by the tests.
deps-test:
	./scripts/install-deps.sh --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/backsight detect data/demo/machine_temperature_system_failure.csv -o $(BUILD)/demo_scores.csv --plot $(BUILD)/demo.png
	@echo "scores: $(BUILD)/demo_scores.csv  plot: $(BUILD)/demo.png"

# Installs PREFIX/bin/backsight (default /usr/local/bin, on PATH; may need sudo).
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

test: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Test configuration with AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps-test
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBACKSIGHT_SANITIZE=ON -DBACKSIGHT_BUILD_BENCH=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bench/micro/detector_bench

nab: build
	$(BUILD)/bench/nab/nab_bench --data $(BACKSIGHT_DATA)/nab --out $(BUILD)/nab_results

loghub: build
	$(BUILD)/bench/loghub/loghub_bench --data $(BACKSIGHT_DATA)/loghub2k

m4: build
	$(BUILD)/bench/forecast/m4_bench --data $(BACKSIGHT_DATA)/m4_hourly --out $(BUILD)/m4_forecast.csv

# libFuzzer targets (clang): builds every fuzz/*_fuzz.cc and runs each for FUZZ_SECONDS, all of
# them even when one crashes. Per target: corpus in build-fuzz/corpus/<target>/, libFuzzer's log in
# build-fuzz/logs/<target>.log, crash/leak/timeout inputs in build-fuzz/artifacts/<target>/. Prints
# which targets crashed and fails at the end if any did.
FUZZ_SECONDS ?= 60
fuzz: deps
	CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBACKSIGHT_FUZZ=ON -DBACKSIGHT_BUILD_TESTS=OFF -DBACKSIGHT_BUILD_BENCH=OFF
	cmake --build build-fuzz -j $(JOBS)
	@failed=""; total=0; \
	for f in build-fuzz/fuzz/*_fuzz; do \
	  n=$$(basename $$f _fuzz); total=$$((total + 1)); \
	  mkdir -p build-fuzz/corpus/$$n build-fuzz/artifacts/$$n build-fuzz/logs; \
	  if [ -d fuzz/corpus/$$n ]; then cp -n fuzz/corpus/$$n/* build-fuzz/corpus/$$n/ 2>/dev/null || true; fi; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build-fuzz/artifacts/$$n/ \
	       build-fuzz/corpus/$$n >build-fuzz/logs/$$n.log 2>&1; then \
	    tail -n 1 build-fuzz/logs/$$n.log; \
	  else \
	    failed="$$failed $$n"; echo "fuzz: $$n CRASHED; log build-fuzz/logs/$$n.log:"; \
	    grep -E "ERROR|SUMMARY|threw|Test unit written" build-fuzz/logs/$$n.log | head -n 8; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "fuzz: $$(echo $$failed | wc -w) of $$total targets crashed:$$failed (inputs in build-fuzz/artifacts/<target>/)"; \
	  exit 1; \
	fi; \
	echo "fuzz: all $$total targets ran $(FUZZ_SECONDS) s without a crash"

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
