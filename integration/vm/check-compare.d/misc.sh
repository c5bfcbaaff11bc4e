#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# MISC_CHECK: exits with the code the scenario wrote for server $1.
exit "$(cat "/cc/state/misc$1")"
