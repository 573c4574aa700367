//! A connection's socket, as the server uses it, with two things hyper and tungstenite leave out.
//!
//! - **hyper's own answers get a body.** A request hyper cannot parse (a header value holding a
//!   control character, headers too large, a URI too long) is answered by hyper itself before
//!   any route sees it: a status and an empty body, which a GraphQL client cannot read. A
//!   response head that only hyper writes (one of those statuses, `content-length: 0`, no
//!   `content-type`: every answer of roombook's own carries one) is replaced on its way out by
//!   the same status with a JSON error body.
//! - **Closing drains.** A socket closed with unread bytes in it is reset by the kernel, and a
//!   reset can destroy what was just sent (a WebSocket close frame, a 400) before the peer reads
//!   it. Dropping the socket first reads and discards what has arrived, so the close is a FIN.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most bytes a closing socket reads to drain itself; a peer still sending past that is reset.
const DRAIN_BYTES: usize = 1 << 20;

/// A connection's socket (see the module's doc).
pub struct Socket {
    inner: TcpStream,
    /// A replacement being written, and how much of it is out, for a write of `claimed` bytes.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        let mut buf = [0u8; 8192];
        let mut drained = 0;
        while drained < DRAIN_BYTES {
            match self.inner.try_read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}

impl Socket {
    pub fn new(inner: TcpStream) -> Self {
        Socket {
            inner,
            pending: None,
        }
    }
}

/// The answer that replaces `head`, if `head` is one hyper wrote for a request it could not
/// parse.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 ")?;
    let (status, why) = match rest.get(..3)? {
        b"400" => (
            "400 Bad Request",
            "the request is not valid HTTP/1.1: a malformed request line or header (header \
             values may hold visible ASCII, spaces and tabs, not control characters)",
        ),
        b"414" => ("414 URI Too Long", "the request's URI is too long"),
        b"431" => (
            "431 Request Header Fields Too Large",
            "the request's headers are too large",
        ),
        b"505" => (
            "505 HTTP Version Not Supported",
            "roombook speaks HTTP/1.1 (and 1.0)",
        ),
        _ => return None,
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let mut lower = head[..end].to_ascii_lowercase();
    lower.extend_from_slice(b"\r\n");
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if !has(b"\r\ncontent-length: 0\r\n") || has(b"\r\ncontent-type:") {
        return None;
    }
    let body =
        serde_json::json!({"errors": [{"message": why, "extensions": {"code": "BAD_USER_INPUT"}}]})
            .to_string();
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Some(answer.into_bytes())
}

impl Socket {
    /// Writes the pending replacement out; then reports `claimed` bytes written.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, done, claimed)) = &mut self.pending {
            if *done == bytes.len() {
                let claimed = *claimed;
                self.pending = None;
                return Poll::Ready(Ok(claimed));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(0))
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            // Cheap for every other write: one byte compared before anything else.
            if buf.get(9) != Some(&b'4') && buf.get(9) != Some(&b'5') {
                return Pin::new(&mut self.inner).poll_write(cx, buf);
            }
            match replacement(buf) {
                Some(answer) => self.pending = Some((answer, 0, buf.len())),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.drive(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            let first = bufs.iter().find(|b| !b.is_empty());
            let answer = first
                .filter(|b| matches!(b.get(9), Some(b'4' | b'5')))
                .and_then(|b| replacement(b));
            match answer {
                Some(answer) => {
                    let claimed = bufs.iter().map(|b| b.len()).sum();
                    self.pending = Some((answer, 0, claimed));
                }
                None => return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
            }
        }
        self.drive(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_hyper_own_bad_request() {
        let head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 13:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(replacement(head).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    #[test]
    fn leaves_roombook_own_answers_alone() {
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ours).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ok).is_none());
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n";
        assert!(replacement(with_body).is_none());
    }
}
