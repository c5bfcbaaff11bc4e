#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# What a fresh machine pays before the tests run: the apt installs, the
# cargo-fuzz install run-tests used to do, and the cold fuzz build.
# Results and conditions in docs/benchmarks.md ("CI cost").
#
#   integration/bench/ci-cost.sh apt         # debootstrap a Debian 12 root, then time
#                                            # install-deps' apt step before and after
#   integration/bench/ci-cost.sh cargo-fuzz  # cold `cargo install cargo-fuzz --locked`
#   integration/bench/ci-cost.sh fuzz-before # cold `cargo fuzz build -O T`, target by target
#   integration/bench/ci-cost.sh fuzz-after  # cold build as integration/fuzz.sh does it
#
# Everything cold goes under $CI_COST_DIR (default ./coldtarget) and is
# deleted afterwards; the apt mode needs about 4 GB there for a while.
# Run at normal priority: the figures are wall-clock seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "ci-cost: run as root (debootstrap, chroot)" >&2; exit 1; }
ROOT=$PWD
COLD=$(realpath -m "${CI_COST_DIR:-coldtarget}")
mkdir -p "$COLD"
export CARGO_INCREMENTAL=0
now() { date +%s.%N; }
secs() { python3 -c "print(round($2 - $1, 1))"; }

# The packages of integration/install-deps, read from it so the two agree;
# the "before" runs add linux-image-amd64 back, as install-deps had it.
pkgs() { sed -n '/^PKGS=(/,/)$/p' integration/install-deps | sed 's/#.*//; s/PKGS=(//; s/)//' | tr -s ' \n' ' '; }

apt_install() { # name "apt-get options" packages...: one timed install in a copy of the base root
  local name=$1 opts=$2 d=$COLD/root-$1 s e
  shift 2
  rm -rf "$d"; cp -a "$COLD/root-base" "$d"
  mount --bind /dev "$d/dev"; mount -t proc proc "$d/proc"
  s=$(now)
  chroot "$d" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $opts "$@" >"$COLD/$name.log" 2>&1 || echo "$name: apt-get failed (see $COLD/$name.log)"
  e=$(now)
  umount "$d/proc" "$d/dev"
  echo "apt $name: $(secs "$s" "$e") s (download included)"
  rm -rf "$d"
}

case "${1:-}" in
  apt)
    command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    rm -rf "$COLD/root-base"
    debootstrap --variant=minbase bookworm "$COLD/root-base" http://deb.debian.org/debian >/dev/null
    cp /etc/apt/sources.list.d/debian.sources "$COLD/root-base/etc/apt/sources.list.d/" 2>/dev/null || true
    mount -t proc proc "$COLD/root-base/proc"
    chroot "$COLD/root-base" apt-get update -qq
    # What the CI machine kind has before install-deps runs.
    chroot "$COLD/root-base" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 perl g++ make iproute2 procps man-db openssl dbus shared-mime-info hicolor-icon-theme util-linux >/dev/null
    echo "wireshark-common wireshark-common/install-setuid boolean false" | chroot "$COLD/root-base" debconf-set-selections
    umount "$COLD/root-base/proc"
    read -ra P <<<"$(pkgs)"
    for round in 1 2; do
      apt_install "before$round" "" "${P[@]}" linux-image-amd64
      apt_install "after$round" "-o Dpkg::Options::=--force-unsafe-io" "${P[@]}"
    done
    # The after runs still need the kernel: run-in-vm --fetch-kernel (download,
    # dpkg-deb -x, depmod); its base initramfs build is paid in both cases.
    s=$(now)
    RUN_IN_VM_CACHE=$COLD/vmcache integration/vm/run-in-vm --fetch-kernel --build-only 2>&1 | grep -E 'fetched|built base' || true
    echo "kernel fetch + base initramfs: $(secs "$s" "$(now)") s (the initramfs part is printed above)"
    rm -rf "$COLD/root-base" "$COLD/vmcache" ;;
  cargo-fuzz)
    s=$(now)
    CARGO_TARGET_DIR=$COLD/cargo-fuzz cargo install cargo-fuzz --locked --root "$COLD/cargo-fuzz-root" -q
    echo "cargo install cargo-fuzz: $(secs "$s" "$(now)") s"
    rm -rf "$COLD/cargo-fuzz" "$COLD/cargo-fuzz-root" ;;
  fuzz-before)
    command -v cargo-fuzz >/dev/null || { echo "ci-cost: fuzz-before needs cargo-fuzz (cargo install cargo-fuzz --locked)" >&2; exit 1; }
    export RUSTC_BOOTSTRAP=1
    s=$(now)
    for t in config vrrp_decode http_response dns_answer checker_replies ipvs_decode control_request; do
      (cd fuzz && cargo fuzz build -O --target-dir "$COLD/fuzz-before" "$t" >/dev/null 2>&1)
    done
    echo "cargo fuzz build -O, 7 targets, cold: $(secs "$s" "$(now)") s"
    rm -rf "$COLD/fuzz-before" ;;
  fuzz-after)
    # integration/fuzz.sh's own build(), with the target dir moved aside.
    s=$(now)
    CARGO_TARGET_DIR=$COLD/fuzz-after bash -c 'source <(sed -n "/^TRIPLE=/,/^}/p" integration/fuzz.sh); build all' >/dev/null 2>&1
    echo "fuzz.sh build, 7 targets, cold: $(secs "$s" "$(now)") s"
    rm -rf "$COLD/fuzz-after" ;;
  *)
    sed -n '3,15p' "$0" >&2; exit 2 ;;
esac
cd "$ROOT"
