# bench/lib.sh - how every benchmark script starts, sourced from the
# repository's root: the release build in build-bench/, a fresh directory
# for the run's files, and the machine line that heads the output (the
# figures mean little without it).

# Builds (and first sets up) build-bench/, optimised.
bench_build() {
  [ -d build-bench ] || meson setup build-bench --buildtype=release >/dev/null
  ninja -C build-bench >/dev/null
}

# Empties $1 (var/...) for this run.
bench_fresh_dir() {
  rm -rf "$1"; mkdir -p "$1"
}

# "== machine: cores, kernel, time", then "; $1" when given.
bench_machine() {
  echo "== machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)${1:+; $1}"
}
