//! Socket buffers of the media port. All media of all SFU rooms arrives on one UDP socket. The
//! kernel's default receive buffer (208 KiB, about 90 datagrams once each one's bookkeeping is
//! counted) fills in 30-40 ms at a few thousand packets per second, so a media loop that is not
//! scheduled for that long on a busy machine loses packets it could easily have forwarded. A few
//! megabytes ride out such gaps; the memory is only used while the loop is behind.

use std::io;

use socket2::SockRef;
use std::net::UdpSocket;
use tracing::warn;

/// What the media socket asks for, in each direction.
pub const MEDIA_SOCKET_BUFFER: usize = 4 << 20;

/// The buffer sizes the kernel granted (as it reports them: twice the usable payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    /// Receive buffer in bytes.
    pub receive: usize,
    /// Send buffer in bytes.
    pub send: usize,
}

/// Asks for [`MEDIA_SOCKET_BUFFER`] in both directions and returns what was granted. The
/// kernel caps requests at `net.core.rmem_max` / `wmem_max`; below half of what was asked, a
/// warning names the setting to raise.
pub fn enlarge(socket: &UdpSocket) -> io::Result<BufferSizes> {
    let socket = SockRef::from(socket);
    socket.set_recv_buffer_size(MEDIA_SOCKET_BUFFER)?;
    socket.set_send_buffer_size(MEDIA_SOCKET_BUFFER)?;
    let sizes =
        BufferSizes { receive: socket.recv_buffer_size()?, send: socket.send_buffer_size()? };
    if sizes.receive < MEDIA_SOCKET_BUFFER || sizes.send < MEDIA_SOCKET_BUFFER {
        warn!(
            receive = sizes.receive,
            send = sizes.send,
            wanted = MEDIA_SOCKET_BUFFER,
            "the media port's socket buffers are small: packets may be lost when the machine is busy; \
             raise net.core.rmem_max and net.core.wmem_max to {MEDIA_SOCKET_BUFFER} (see docs/deploy.md)"
        );
    }
    Ok(sizes)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn sysctl(name: &str) -> Option<usize> {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}")).ok()?.trim().parse().ok()
    }

    #[test]
    fn the_media_socket_gets_the_buffers_the_kernel_allows() {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback socket");
        let default = SockRef::from(&socket).recv_buffer_size().expect("read the default");
        let sizes = enlarge(&socket).expect("set the buffer sizes");
        // Linux grants twice what was asked (for its bookkeeping), capped by the sysctl limits.
        let rmem_max = sysctl("rmem_max").expect("net.core.rmem_max");
        let wmem_max = sysctl("wmem_max").expect("net.core.wmem_max");
        assert_eq!(sizes.receive, 2 * MEDIA_SOCKET_BUFFER.min(rmem_max));
        assert_eq!(sizes.send, 2 * MEDIA_SOCKET_BUFFER.min(wmem_max));
        assert!(sizes.receive > default, "more than the default {default}: {sizes:?}");
    }
}
