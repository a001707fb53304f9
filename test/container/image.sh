#!/usr/bin/env bash
# The image the container test (test/integration/container.test.ts) runs the
# README's commands in: a minimal Debian 12, as node:20-bookworm-slim is, built
# here without a registry:
#   - debootstrap --variant=minbase bookworm (what the official debian:12 image
#     is built from), from this machine's own Debian mirror, with its Debian apt
#     sources (third-party ones, whose keys the image lacks, are left out);
#   - this machine's Node.js (>= 20) and npm copied to /usr/local, as the
#     node:*-slim images have them (Debian 12's own nodejs is 18);
#   - this machine's CA certificates, as a site's own CI image carries them (the
#     registries are reached through them): the bundle at the same path, the
#     local ones in /usr/local/share/ca-certificates, NODE_EXTRA_CA_CERTS set.
# Nothing else: no iproute2, procps, netbase, tcpdump (the bootstrap's job).
#
# Cached in podman's image store under a tag that names what went in (this
# script, Node's version, the certificates, the apt sources): built only when
# that tag is missing, under a lock (concurrent runs wait for one build).
# Prints the image's name on stdout; progress on stderr. Needs root, podman,
# debootstrap. Usage: test/container/image.sh
set -euo pipefail
say() { printf 'container image: %s\n' "$*" >&2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

node_bin=$(command -v node)
node_bin=$(readlink -f "$node_bin")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")") # .../node_modules/npm
node_version=$("$node_bin" -v)
[ "${node_version#v}" != "$node_version" ] && [ "$(printf '%s' "${node_version#v}" | cut -d. -f1)" -ge 20 ] \
  || { say "this machine's Node.js is $node_version; the image needs >= 20"; exit 3; }
ca_bundle=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}

# this machine's Debian sources: files naming debian.org whose keys are Debian's own
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && grep -q 'debian\.org' "$f" || continue
  if grep -i 'signed-by' "$f" | grep -vq 'debian-archive-keyring'; then continue; fi
  sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { say "no Debian apt sources on this machine (/etc/apt/sources.list*)"; exit 3; }
# debootstrap's mirror: the first Debian archive URI of those sources (not the security one)
mirror=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' "${sources[@]}" | head -1 | tr -d ' ')
[ -n "$mirror" ] || { say "no Debian mirror found in ${sources[*]}"; exit 3; }

key=$( { cat "$0"; echo "$node_version $mirror"; cat "$ca_bundle" /usr/local/share/ca-certificates/* 2>/dev/null; cat "${sources[@]}"; } \
  | sha256sum | cut -c1-12)
image="localhost/nslab-ci-debian12:$key"

mkdir -p /var/lock
exec 9>/var/lock/nslab-ci-image.lock
flock 9
if podman image exists "$image"; then echo "$image"; exit 0; fi

work=$(mktemp -d /var/tmp/nslab-ci-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
say "building $image: debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)"
debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg bookworm "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
# apt: this machine's Debian sources instead of debootstrap's one line
rm -f "$root/etc/apt/sources.list"
for f in "${sources[@]}"; do cp "$f" "$root/etc/apt/sources.list.d/$(basename "$f" | sed 's/^sources\.list$/debian.list/')"; done
# Node.js and npm where the node:*-slim images have them
install -D -m 755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# the certificates
install -D -m 644 "$ca_bundle" "$root$ca_bundle"
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates" && cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
say "importing it into podman"
tar -C "$root" -c . | podman import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_EXTRA_CA_CERTS=$ca_bundle" \
  --change 'CMD ["bash"]' \
  --message "nslab CI: Debian 12 minbase, Node.js $node_version ($here/image.sh)" - "$image" >/dev/null
echo "$image"
