#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# One SMTP dialog on stdin/stdout (started per connection by
# `busybox nc -ll -e`): greeting, HELO -> 250, QUIT -> 221.
printf '220 smtp.check-compare ESMTP\r\n'
read -r _
printf '250 smtp.check-compare\r\n'
read -r _
printf '221 bye\r\n'
