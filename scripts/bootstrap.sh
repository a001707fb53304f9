# Sourced by scripts/nslab and scripts/test: makes sure this machine has what
# nslab needs, installing only what is missing, and says nothing when all is there.
# Idempotent: a second run does no work.
nslab_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

nslab_say() { printf 'nslab bootstrap: %s\n' "$*" >&2; }

# What nslab runs and relies on, as name:package pairs: scripts/requirements.tsv,
# rendered from src/engine/requirements.ts (the table doctor and the preflights check).
nslab_requirements() {
  # what nslab needs; with `suite`, what only its own test suite needs (sosreport: scripts/test installs it)
  local kind name pkg need rest want=${1:-}
  while IFS=$'\t' read -r kind name pkg need rest; do
    case $kind in program|file) ;; *) continue ;; esac
    if [ "$want" = suite ]; then [ "$need" = suite ] || continue; else [ "$need" != suite ] || continue; fi
    printf '%s:%s\n' "$name" "$pkg"
  done < "$nslab_root/scripts/requirements.tsv"
}

# Installs the package of each name:package pair whose program is not on PATH (or,
# for an absolute path, whose file is missing or empty); without arguments, every
# entry of scripts/requirements.tsv (scripts/test adds chromium:chromium, which only
# the HTML report's browser test needs)
nslab_need_debs() {
  local missing=() name pkg pairs=("$@")
  [ ${#pairs[@]} -gt 0 ] || mapfile -t pairs < <(nslab_requirements)
  for pair in "${pairs[@]}"; do
    name=${pair%%:*}; pkg=${pair#*:}
    case $name in
      /*) [ -s "$name" ] && continue ;;
      # a user's PATH may lack the sbin directories (Debian's sysctl, nft): installed is installed
      *) PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$name" >/dev/null 2>&1 && continue ;;
    esac
    case " ${missing[*]} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    nslab_say "missing ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]}) to install them"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    nslab_say "missing ${missing[*]}, and this is not a Debian-like system: install them with your package manager"
    return 0
  fi
  nslab_say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # a private log (mktemp: never a fixed name in /tmp that someone else could have planted)
  local log; log=$(mktemp "${TMPDIR:-/tmp}/nslab-apt.XXXXXX") || return 1
  # the package lists of a fresh machine are empty: update once, then install
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    apt-get update -qq >>"$log" 2>&1
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
      || { nslab_say "apt-get failed; see $log"; return 1; }
  fi
  rm -f "$log"
}

nslab_need_npm() {
  cd "$nslab_root" || return 1
  # node_modules/.package-lock.json is npm's record of what is installed
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    nslab_say "installing npm dependencies"
    local log; log=$(mktemp "${TMPDIR:-/tmp}/nslab-npm.XXXXXX") || return 1
    npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1 \
      || { cat "$log" >&2; rm -f "$log"; nslab_say "npm ci failed"; return 1; }
    rm -f "$log"
  fi
}

nslab_need_build() {
  cd "$nslab_root" || return 1
  local stamp=dist/.build-stamp
  if [ ! -f "$stamp" ] || [ -n "$(find src package.json tsconfig.json -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    bash scripts/build.sh || { nslab_say "build failed"; return 1; }
    touch "$stamp"
  fi
}

# The example project (examples/vitest) installs nslab as a consumer does: a
# packed copy of this repository (install-links), so a new build means a new
# install. Called by the test that runs the example, not by scripts/nslab.
nslab_need_example() {
  local dir="$nslab_root/examples/vitest"
  cd "$dir" || return 1
  local rec=node_modules/.package-lock.json
  if [ ! -f "$rec" ] || [ package.json -nt "$rec" ] || [ "$nslab_root/dist/.build-stamp" -nt "$rec" ] || [ "$nslab_root/package.json" -nt "$rec" ]; then
    nslab_say "installing the example project's dependencies (examples/vitest)"
    local log; log=$(mktemp "${TMPDIR:-/tmp}/nslab-npm.XXXXXX") || return 1
    npm install --no-audit --no-fund --loglevel=error >"$log" 2>&1 \
      || { cat "$log" >&2; rm -f "$log"; nslab_say "npm install in examples/vitest failed"; return 1; }
    rm -f "$log"
    touch "$rec"
  fi
}

# The real tools the export tests check their output with: ifupdown's ifup,
# netplan's generator, NetworkManager's nmcli. Their Debian packages are
# unpacked (dpkg -x) into .tools/root, never installed: no maintainer script
# runs, no daemon starts, nothing under /etc or in the host's network changes.
# With them, the packages of their dependencies that this machine lacks (apt's
# own resolver says which: `apt-get install --print-uris`, which installs
# nothing), so that the programs find their libraries under .tools/root (the
# tests set LD_LIBRARY_PATH, and skip a program whose libraries are still
# missing, with the reason). Only for the tests (scripts/test); without apt-get
# or root, those tests skip.
nslab_export_tools() {
  local dir="$nslab_root/.tools" pkgs="ifupdown netplan.io libnetplan0 network-manager libnm0"
  # .complete-deps: unpacked with their dependencies (a tree from before, without them, is made again)
  [ -f "$dir/root/.complete-deps" ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || return 0
  local tmp; tmp=$(mktemp -d "${TMPDIR:-/tmp}/nslab-tools.XXXXXX") || return 0
  nslab_say "unpacking the tools the export tests validate with ($pkgs) and the dependencies this machine lacks into .tools/"
  # apt-get download drops privileges to _apt: give it a directory it can write
  chmod 755 "$tmp"; chown _apt "$tmp" 2>/dev/null
  mkdir -p "$tmp/cache/partial"
  local deps
  if ! deps=$(nslab_missing_deps "$tmp" $pkgs 2>>"$tmp/log"); then
    apt-get update -qq >>"$tmp/log" 2>&1
    deps=$(nslab_missing_deps "$tmp" $pkgs 2>>"$tmp/log") || { nslab_say "apt could not resolve $pkgs (see $tmp/log); the export validation tests will be skipped"; return 0; }
  fi
  # shellcheck disable=SC2086 # word lists of package names
  if ( cd "$tmp" && apt-get download $pkgs $deps >>"$tmp/log" 2>&1 ); then
    # complete only if every package unpacked: a partial tree is tried again next time
    local ok=1 d
    rm -rf "$dir/root"
    mkdir -p "$dir/root" && for d in "$tmp"/*.deb; do dpkg -x "$d" "$dir/root" || { ok=0; break; }; done
    if [ "$ok" = 1 ]; then touch "$dir/root/.complete-deps"; else nslab_say "could not unpack $d; the export validation tests will be skipped"; fi
  else
    nslab_say "could not download $pkgs $deps (see $tmp/log); the export validation tests will be skipped"
    return 0
  fi
  rm -rf "$tmp"
}

# The packages that installing $2... would bring in and that are not installed
# at all (an upgrade of an installed one is not needed: the installed one serves).
nslab_missing_deps() {
  local tmp=$1; shift
  local uris name
  uris=$(apt-get install --print-uris -qq --no-install-recommends -o Dir::Cache::archives="$tmp/cache" "$@") || return 1
  for name in $(printf '%s\n' "$uris" | awk '{ sub(/_.*/, "", $2); print $2 }'); do
    case " $* " in *" $name "*) continue ;; esac
    dpkg-query -W -f='${db:Status-Abbrev}' "$name" 2>/dev/null | grep -q '^ii' || printf '%s\n' "$name"
  done
}

nslab_bootstrap() {
  command -v node >/dev/null 2>&1 || { nslab_say "Node.js >= 20 is required"; return 3; }
  nslab_need_debs && nslab_need_npm && nslab_need_build
}
