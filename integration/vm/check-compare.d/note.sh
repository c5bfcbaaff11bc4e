#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# notify_up / notify_down / quorum_up / quorum_down: one line per call
# (the daemon runs it as keepalived_script, hence the world-writable log).
echo "$*" >>/cc/notify.log
