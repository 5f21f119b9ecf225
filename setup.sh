#!/usr/bin/env bash
# Prepare this machine for sovnet (run as root; idempotent, safe to re-run):
#   1. apt packages: Mininet, Open vSwitch, probe tools, nftables (resolver hosts redirect the
#      traffic blockpage and steer_dns policies send them) (skipped when all are installed)
#   2. start ovsdb-server and ovs-vswitchd (init system, or ovs-ctl by hand)
#   3. pick the OVS datapath (kernel module or userspace) -> /var/lib/sovnet/datapath
#   4. .venv with system site packages (for Debian's mininet) and `pip install -e .`, held to
#      the versions tested together in constraints.txt (only when pyproject.toml,
#      constraints.txt or the mode changed since the last install)
#   5. print a summary
#
#   ./setup.sh          what running sovnet needs
#   ./setup.sh --dev    and what testing it needs: the [dev] extra (pytest, linters, OONI's
#                       data package) and Chromium for the browser tests (.ci/run uses this)
set -euo pipefail

STEP="starting"
trap 'rc=$?; echo "setup.sh: FAILED during step: ${STEP} (line ${LINENO}, exit ${rc})" >&2; exit ${rc}' ERR

DEV=0
for arg in "$@"; do
    case "$arg" in
        --dev) DEV=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg' (expected --dev or nothing)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
T0=$(date +%s)
SUMMARY=()
step() { STEP="$*"; echo "==> ${STEP}"; }
note() { echo "    $*"; }
run() { echo "    $ $*"; "$@"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: must run as root (Mininet and Open vSwitch need it)" >&2
    exit 1
fi

# ---------------------------------------------------------------------------------------
step "1/5 apt packages"
PKGS=(mininet openvswitch-switch iperf3 ethtool iputils-ping curl dnsutils iproute2 procps
      sudo psmisc kmod util-linux python3-venv python3-pip fonts-dejavu-core nftables
      gobgpd fping libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
if [ "$DEV" = 1 ]; then
    PKGS+=(chromium)  # the report and explorer tests drive it headless through Playwright
fi
MISSING=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        MISSING+=("$p")
    fi
done
if [ "${#MISSING[@]}" -eq 0 ]; then
    note "all ${#PKGS[@]} packages already installed"
    SUMMARY+=("apt: all ${#PKGS[@]} packages already installed")
else
    note "missing: ${MISSING[*]}"
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -q
    run apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${MISSING[@]}"
    SUMMARY+=("apt: installed ${MISSING[*]}")
fi

# ---------------------------------------------------------------------------------------
step "2/5 Open vSwitch daemons"
ovs_ok() {
    ovs-vsctl --timeout=2 show >/dev/null 2>&1 &&
        ovs-appctl -t ovs-vswitchd version >/dev/null 2>&1
}
wait_ovs() {
    local i
    for i in $(seq 1 50); do
        ovs_ok && return 0
        sleep 0.2
    done
    return 1
}
if ovs_ok; then
    note "ovsdb-server and ovs-vswitchd already running"
    SUMMARY+=("ovs: already running")
else
    HOW=""
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v systemctl >/dev/null; then
        run systemctl start openvswitch-switch || true
        wait_ovs && HOW="systemctl"
    elif command -v service >/dev/null && [ -x /etc/init.d/openvswitch-switch ]; then
        run service openvswitch-switch start || true
        wait_ovs && HOW="service"
    fi
    if [ -z "$HOW" ]; then
        run /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random
        wait_ovs && HOW="ovs-ctl"
    fi
    if [ -z "$HOW" ]; then
        STEP="2/5 Open vSwitch daemons: ovs-vsctl show still fails after starting"
        false
    fi
    note "started with ${HOW}"
    SUMMARY+=("ovs: started with ${HOW}")
fi
run ovs-vsctl --timeout=5 show >/dev/null

# ---------------------------------------------------------------------------------------
step "3/5 OVS datapath"
DP=user
if [ -d /sys/module/openvswitch ]; then
    DP=kernel
elif command -v modprobe >/dev/null && modprobe -q openvswitch 2>/dev/null &&
     [ -d /sys/module/openvswitch ]; then
    DP=kernel
fi
mkdir -p /var/lib/sovnet
echo "$DP" > /var/lib/sovnet/datapath.tmp
mv /var/lib/sovnet/datapath.tmp /var/lib/sovnet/datapath
if [ "$DP" = kernel ]; then
    note "datapath: kernel (openvswitch module loaded)"
else
    note "datapath: user (no openvswitch kernel module; bridges use datapath_type=netdev)"
fi
if unshare --net tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
    NETEM="available"
else
    NETEM="unavailable: topologies with link delay/loss will be refused"
fi
note "netem: ${NETEM}"
# Resolver hosts redirect steered HTTP and DNS with an nftables NAT rule (sovnet.emulation.steer).
if printf 'table ip t { chain c { type nat hook prerouting priority dstnat; tcp dport 80 redirect; }; }\n' |
        unshare --net nft -f - 2>/dev/null; then
    NFT="available"
else
    NFT="unavailable: networks will not start (the kernel needs nf_tables, NAT and conntrack)"
fi
note "nftables NAT: ${NFT}"
SUMMARY+=("datapath: ${DP} (recorded in /var/lib/sovnet/datapath); netem: ${NETEM}; nftables NAT: ${NFT}")

# ---------------------------------------------------------------------------------------
step "4/5 Python virtualenv .venv"
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import mininet.net' 2>/dev/null; then
    note ".venv present and sees Debian's mininet"
    VENV="kept"
else
    run /usr/bin/python3 -m venv --system-site-packages --clear .venv
    .venv/bin/python -c 'import mininet.net' ||
        { STEP="4/5 .venv cannot import mininet.net (is the mininet package installed?)"; false; }
    VENV="built"
fi
# The stamp: what was installed, for which pyproject.toml and constraints.txt. A --dev install
# also serves a plain run; a plain one does not serve --dev.
STAMP=.venv/.sovnet-install
HASH=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
IMPORTS='import os_ken, mininet.net, dnslib, trustme, aioquic, fastapi, uvicorn, sovnet'
DEV_IMPORTS='import pytest, oonidata.dataclient, playwright'
if [ "$DEV" = 1 ]; then
    WANT="dev"; EXTRA="[dev]"; CHECK="${IMPORTS}; ${DEV_IMPORTS}"
else
    WANT="run"; EXTRA=""; CHECK="${IMPORTS}"
fi
HAVE=$(cat "$STAMP" 2>/dev/null || true)
if { [ "$HAVE" = "$HASH dev" ] || [ "$HAVE" = "$HASH $WANT" ]; } &&
   .venv/bin/python -c "$CHECK" 2>/dev/null; then
    note "pyproject.toml and constraints.txt unchanged since the last install: pip skipped"
    PIP="skipped (unchanged since the last install, ${HAVE##* })"
else
    rm -f "$STAMP"
    # pip's build backend prints pages of deprecation notes even with -q: keep them in a log
    # and show it only when the install fails.
    echo "    $ .venv/bin/python -m pip install -c constraints.txt -e '.${EXTRA}'   (log: .venv/pip.log)"
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt \
            -e ".${EXTRA}" > .venv/pip.log 2>&1; then
        cat .venv/pip.log >&2
        STEP="4/5 pip install -e .${EXTRA} (see the log above)"
        false
    fi
    if [ "$DEV" = 1 ]; then
        # OONI's data package, to check that every measurement loads with it. Its declared pins
        # (pyopenssl~=22.1, ...) clash with aioquic's; what it imports is pinned in the dev extra.
        if ! .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps \
                "oonidata==0.3.0" >> .venv/pip.log 2>&1; then
            cat .venv/pip.log >&2
            STEP="4/5 pip install oonidata (see the log above)"
            false
        fi
    fi
    echo "$HASH $WANT" > "$STAMP"
    PIP="installed -e .${EXTRA} with constraints.txt"
fi
STEP="4/5 check imports in .venv"
run .venv/bin/python -c "$CHECK"
SUMMARY+=(".venv: ${VENV}; pip: ${PIP}")

# ---------------------------------------------------------------------------------------
step "5/5 summary"
for line in "${SUMMARY[@]}"; do note "$line"; done
if [ "$DEV" = 1 ]; then
    note "done in $(( $(date +%s) - T0 ))s; run the tests with: sudo .venv/bin/pytest"
else
    note "done in $(( $(date +%s) - T0 ))s; for the tests run: sudo ./setup.sh --dev"
fi
