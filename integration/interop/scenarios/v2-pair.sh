#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# VRRPv2, multicast, advert_int 1: the higher priority (A, 150) becomes
# master, the VIP is only on the master, the backup stays silent, and the
# client sees the master's adverts and its gratuitous ARP for the VIP.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin v2-pair "VRRPv2 multicast election, VIP placement, GARP seen by the client"
C_VERSION=2 C_ADVERT=1
pair_up "$VIP/$PLEN"
pair_steady_checks 224.0.0.18
scenario_end
