#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# One HTTP exchange on stdin/stdout (started per connection by
# `busybox nc -ll -e`): serves /cc/www/$1/PATH, with the status line in
# PATH.status when that exists (default "200 OK"), 404 for a missing file.
# The request is read to its end first: closing with unread bytes would
# send a RST instead of a FIN.
cr=$(printf '\r')
read -r _ path _
while IFS= read -r line; do
	case $line in "" | "$cr") break ;; esac
done
file=/cc/www/$1$path
if [ -f "$file" ]; then
	status=$(cat "$file.status" 2>/dev/null || echo "200 OK")
	body=$(cat "$file")
else
	status="404 Not Found"
	body="no $path here"
fi
printf 'HTTP/1.0 %s\r\nContent-Length: %d\r\n\r\n%s' "$status" "${#body}" "$body"
