#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# VRRPv3, IPv4 multicast, advert_int 0.1 (10 centiseconds on the wire):
# election, VIP placement, GARP, silent backup.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin v3-pair "VRRPv3 IPv4 advert_int 0.1 election, VIP placement, GARP"
C_VERSION=3 C_ADVERT=0.1
pair_up "$VIP/$PLEN"
pair_steady_checks 224.0.0.18
scenario_end
