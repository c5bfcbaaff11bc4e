// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The GET request keepalived 2.2.7 sends (`check_http.c:
//! http_request_thread`), byte for byte; genhash shares it.
//!
//! ```text
//! GET <path> HTTP/1.<0|1>\r\n
//! User-Agent: KeepAliveClient\r\n
//! Connection: close\r\n          (1.0C and 1.1 only)
//! Host: <host>\r\n
//! \r\n
//! ```
//!
//! `<host>` is the virtual host verbatim when there is one (the caller
//! picks it: url > checker > real server > virtual server), else the
//! target `ip:port` (`[ip]:port` for IPv6).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `http_protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    #[default]
    Http10,
    /// HTTP/1.0 with `Connection: close`.
    Http10C,
    Http11,
}

/// keepalived builds the request in a 2048-byte buffer with snprintf, so a
/// longer request is cut there (without its final CRLFs).
pub const GET_BUFFER_LENGTH: usize = 2048;

/// The request bytes. Written into one buffer sized for the common
/// case: this runs for every HTTP_GET/SSL_GET run.
pub fn build(path: &str, protocol: Protocol, vhost: Option<&str>, target: SocketAddr) -> Vec<u8> {
    use std::io::Write as _;
    let minor = if protocol == Protocol::Http11 { 1 } else { 0 };
    let close = match protocol {
        Protocol::Http10 => "",
        Protocol::Http10C | Protocol::Http11 => "Connection: close\r\n",
    };
    // Fixed text, the path, the host (at most "[v6]:port", 47 bytes).
    let mut req = Vec::with_capacity(96 + path.len() + vhost.map_or(47, str::len));
    // Writing into a Vec cannot fail.
    let _ = write!(
        req,
        "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: "
    );
    let _ = match vhost {
        Some(h) => req.write_all(h.as_bytes()),
        // No scope id: keepalived prints the address with inet_ntop.
        None => match target {
            SocketAddr::V4(a) => write!(req, "{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => write!(req, "[{}]:{}", a.ip(), a.port()),
        },
    };
    req.extend_from_slice(b"\r\n\r\n");
    // snprintf keeps size - 1 bytes and a NUL; strlen stops at the NUL.
    req.truncate(GET_BUFFER_LENGTH - 1);
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        let t: SocketAddr = "127.0.0.1:80".parse().expect("addr");
        assert_eq!(
            build("/", Protocol::Http10, None, t),
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:80\r\n\r\n"
        );
        assert_eq!(
            build("/x?y", Protocol::Http11, Some("example.com"), t),
            b"GET /x?y HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: example.com\r\n\r\n"
        );
        let t6: SocketAddr = "[::1]:8080".parse().expect("addr");
        assert_eq!(
            build("/", Protocol::Http10C, None, t6),
            b"GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:8080\r\n\r\n"
        );
        let long = "/".repeat(3000);
        assert_eq!(build(&long, Protocol::Http10, None, t).len(), 2047);
    }
}
