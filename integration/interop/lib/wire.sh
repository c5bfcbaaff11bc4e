# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2016,SC2034
# What the client sees on the wire: one tcpdump in the client namespace
# (nanosecond stamps, --immediate-mode so packets reach the file at once;
# without it TPACKET_V3 may hold them up to a second), decoded by tshark
# into one line per frame in $RUN_DIR/events.txt:
#
#   ts V mac src dst ttl ver vrid prio intvl_cs count cksum type addrs auth
#   ts A mac sender-ip target-ip opcode           (ARP)
#   ts N mac src dst target override-flag         (ICMPv6 neighbour advert)
#
# cksum is tshark's vrrp.checksum.status (1 = correct; tshark always
# verifies the VRRP checksum, v3 with the IPv4/IPv6 pseudo-header; the only
# VRRP preference, vrrp.v3_checksum_as_in_v2, is forced to FALSE), or "bad"
# when tshark flagged the frame malformed. intvl_cs is the advert interval
# in centiseconds for both versions. Empty fields print as "-".
# Timestamps are CLOCK_REALTIME like $EPOCHREALTIME (namespaces share it).

PCAP=
CAP_PID=
EVENTS=
CAP_FILTER='ip proto 112 or ip6 proto 112 or arp or (icmp6 and ip6[40] == 136)'

cap_start() {
    PCAP=$RUN_DIR/client.pcap
    EVENTS=$RUN_DIR/events.txt
    : >"$RUN_DIR/tcpdump.err"
    ip netns exec "$NS_CLI" tcpdump -i "$IFACE" -n -U --immediate-mode -s 512 -Z root \
        --time-stamp-precision=nano -w "$PCAP" "$CAP_FILTER" 2>"$RUN_DIR/tcpdump.err" &
    CAP_PID=$!
    proc_register "$CAP_PID" tcpdump
    wait_for 5 grep -q 'listening on' "$RUN_DIR/tcpdump.err" || die "tcpdump did not start: $(cat "$RUN_DIR/tcpdump.err")"
}

cap_stop() {
    [[ -n $CAP_PID ]] || return 0
    sleep 0.1
    if proc_is_ours "$CAP_PID"; then kill -INT "$CAP_PID" 2>/dev/null || true; fi
    wait "$CAP_PID" 2>/dev/null || true
    CAP_PID=
}

TSHARK_OPTS=(-n -o vrrp.v3_checksum_as_in_v2:FALSE)

# Decode the capture so far (tcpdump -U writes whole packets; a frame cut
# short at the very end is ignored).
refresh_events() {
    tshark -r "$PCAP" "${TSHARK_OPTS[@]}" -T fields -E separator=/t -E occurrence=a -E aggregator=, \
        -e frame.time_epoch -e eth.src -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e ip.ttl -e ipv6.hlim \
        -e vrrp.version -e vrrp.virt_rtr_id -e vrrp.prio -e vrrp.adver_int -e vrrp.short_adver_int \
        -e vrrp.addr_count -e vrrp.checksum.status -e vrrp.type -e vrrp.ip_addr -e vrrp.ipv6_addr \
        -e vrrp.auth_type -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 -e arp.opcode \
        -e icmpv6.type -e icmpv6.nd.na.target_address -e icmpv6.nd.na.flag.o -e _ws.malformed \
        2>/dev/null | awk -F'\t' '
        function d(x) { return x == "" ? "-" : x }
        {
            ts = $1; mac = $2; src = $3 $4; dst = $5 $6; ttl = $7 $8
            if ($9 != "") {
                ck = ($26 != "") ? "bad" : $15
                iv = ($9 == 2) ? $12 * 100 : $13
                print ts, "V", mac, d(src), d(dst), d(ttl), $9, d($10), d($11), d(iv), d($14), d(ck), d($16), d($17 $18), d($19)
            } else if ($22 != "") {
                print ts, "A", mac, d($20), d($21), $22
            } else if ($23 == "136") {
                o = ($25 == "1" || $25 == "True") ? 1 : 0
                print ts, "N", mac, d(src), d(dst), d($24), o
            }
        }' >"$EVENTS" || true
}

# Queries over $EVENTS. COND is an awk expression over the columns above;
# AFTER / BEFORE bound the timestamp (exclusive; empty = unbounded).
_ev() { # mode cond after before
    awk -v a="${3:-}" -v b="${4:-}" -v m="$1" "
        (a == \"\" || \$1 + 0 > a + 0) && (b == \"\" || \$1 + 0 < b + 0) && ($2) {
            n++; last = \$0; if (m == \"first\") { print; exit } }
        END { if (m == \"last\" && n) print last; if (m == \"count\") print n + 0 }" "$EVENTS"
}
ev_first() { _ev first "$@"; }
ev_last()  { _ev last "$@"; }
ev_count() { _ev count "$@"; }
ts_of()    { awk '{ print $1 }'; }

# Conditions.
adv_from() { printf '$2 == "V" && $4 == "%s"' "$1"; }            # any advert from src
adv_from_prio() { printf '$2 == "V" && $4 == "%s" && $9 == "%s"' "$1" "$2"; }
garp_from() { printf '$2 == "A" && $3 == "%s" && $4 == "%s" && $5 == "%s"' "$1" "$2" "$2"; }  # mac vip
na_from() { printf '$2 == "N" && $3 == "%s" && $6 == "%s"' "$1" "$2"; }                      # mac target

# Every advert a source sent is valid VRRP with a correct checksum: counted
# independently of the decoder (IP protocol 112 from that address) and
# compared with those tshark decoded as VRRP type 1 (advertisement) with
# checksum status 1 and no malformed flag.
check_adverts_valid() { # label src
    local label=$1 src=$2 total good bad from
    if [[ $src == *:* ]]; then from="ipv6.src == $src && ipv6.nxt == 112"; else from="ip.src == $src && ip.proto == 112"; fi
    total=$( (tshark -r "$PCAP" "${TSHARK_OPTS[@]}" -Y "$from" 2>/dev/null || true) | wc -l)
    good=$(ev_count "$(adv_from "$src") && \$12 == \"1\" && \$13 == \"1\"")
    bad=$(ev_count "$(adv_from "$src") && (\$12 != \"1\" || \$13 != \"1\")")
    if ((total > 0 && good == total)); then
        pass "$label: tshark: adverts valid, checksum ok" "$good/$total adverts from $src"
    else
        fail "$label: tshark: adverts valid, checksum ok" "$good/$total good ($bad bad) from $src"
        if ((bad > 0)); then
            (tshark -r "$PCAP" "${TSHARK_OPTS[@]}" -V -Y "$from && !(vrrp.checksum.status == 1)" 2>/dev/null || true) |
                sed -n '/^Virtual Router/,/^$/p' | head -n 20 | sed 's/^/        /'
        fi
    fi
}
