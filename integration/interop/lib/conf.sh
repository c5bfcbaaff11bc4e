# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
# keepalived.conf writer. A config is conf_global followed by one or more
# conf_instance calls; the C_* variables in effect at each call shape it:
#
#   C_VERSION        vrrp_version in global_defs (2|3)            default 3
#   C_ADVERT         advert_int                                   default 0.1
#   C_STATE          state                                        BACKUP
#   C_INST_VERSION   per-instance "version" line (empty: none)
#   C_UNICAST        1: unicast_src_ip <own address> + unicast_peer <the other LB>
#   C_AUTH_PASS      authentication PASS with this password (empty: none)
#   C_NOPREEMPT      1: nopreempt
#   C_PREEMPT_DELAY  preempt_delay value (empty: none)
#   C_NOTIFY         1: notify hooks that append to $RUN_DIR/notify.log  default 1
#   C_EXTRA          raw lines appended inside the instance
#   C_ROOT           raw top-level lines after global_defs (vrrp_script,
#                    track_file blocks ...)
#
# The notify hook is copied into $RUN_DIR (root-owned, 0755) because
# keepalived's enable_script_security refuses a script below any directory
# a non-root user may write, which a CI checkout usually is.

conf_prepare_hook() {
    install -m 0755 "$INTEROP_DIR/notify-hook" "$RUN_DIR/notify-hook"
    : >"$RUN_DIR/notify.log"
    chmod 0644 "$RUN_DIR/notify.log"
}

conf_global() { # router_id
    cat <<EOF
# written by integration/interop (lib/conf.sh) for $1
global_defs {
    router_id $1
    vrrp_version ${C_VERSION:-3}
    script_user root
    enable_script_security
}
EOF
    [[ -z ${C_ROOT:-} ]] || printf '%s\n' "$C_ROOT"
}

conf_instance() { # node name vrid prio vip/plen...
    local node=$1 name=$2 vrid=$3 prio=$4 vip hook
    shift 4
    hook="$RUN_DIR/notify-hook $RUN_DIR/notify.log $node"
    printf '\nvrrp_instance %s {\n' "$name"
    printf '    state %s\n    interface %s\n    virtual_router_id %s\n    priority %s\n    advert_int %s\n' \
        "${C_STATE:-BACKUP}" "$IFACE" "$vrid" "$prio" "${C_ADVERT:-0.1}"
    [[ -z ${C_INST_VERSION:-} ]] || printf '    version %s\n' "$C_INST_VERSION"
    [[ ${C_NOPREEMPT:-0} != 1 ]] || printf '    nopreempt\n'
    [[ -z ${C_PREEMPT_DELAY:-} ]] || printf '    preempt_delay %s\n' "$C_PREEMPT_DELAY"
    if [[ ${C_UNICAST:-0} == 1 ]]; then
        if [[ $node == lb1 ]]; then set -- "$IP_LB1" "$IP_LB2" "$@"; else set -- "$IP_LB2" "$IP_LB1" "$@"; fi
        printf '    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n' "$1" "$2"
        shift 2
    fi
    [[ -z ${C_AUTH_PASS:-} ]] ||
        printf '    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n' "$C_AUTH_PASS"
    if [[ ${C_NOTIFY:-1} == 1 ]]; then
        printf '    notify_master "%s notify_master %s"\n' "$hook" "$name"
        printf '    notify_backup "%s notify_backup %s"\n' "$hook" "$name"
        printf '    notify_fault "%s notify_fault %s"\n' "$hook" "$name"
        printf '    notify_stop "%s notify_stop %s"\n' "$hook" "$name"
        printf '    notify "%s notify"\n' "$hook"
    fi
    printf '    virtual_ipaddress {\n'
    for vip in "$@"; do printf '        %s dev %s\n' "$vip" "$IFACE"; done
    printf '    }\n'
    [[ -z ${C_EXTRA:-} ]] || printf '%s\n' "$C_EXTRA"
    printf '}\n'
}
