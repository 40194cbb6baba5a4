//! TCP relays the managed provider puts between parts of a cluster, the
//! way a managed service's network does:
//!
//! - the **cluster endpoint** the application connects to, which points at
//!   the primary site's FerretDB and moves to the promoted standby's at a
//!   failover (a managed cluster's DNS name moving to the new writer);
//! - the **site link** a standby streams WAL over, with an optional
//!   latency (each byte arrives that long after it was sent, both ways)
//!   and bandwidth (bytes per second from the primary to the standby): an
//!   asynchronous standby is then as far behind as one across a real link
//!   between sites, and a synchronous commit waits for the round trip.
//!   When the primary's site goes down its link is cut: what the link
//!   held had not reached the standby, and never will.
//!
//! A relay lives in the harness process: it dies with it, so it needs no
//! run record. Moving or cutting a relay closes every connection through
//! it (the client reconnects, as drivers and walreceivers do).

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The receive buffer of a shaped relay's upstream socket: small, so that
/// what is in flight sits in the link (and is lost when it is cut), not in
/// the kernel's megabytes of autotuned buffer.
const SHAPED_BUFFER: u32 = 16 * 1024;

/// What a link does to the bytes it carries; the default carries them
/// as fast as the machine goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkShape {
    /// How long each byte takes to cross, each way.
    pub latency: Option<Duration>,
    /// Bytes per second from the target back to the client.
    pub bandwidth: Option<u64>,
}

impl LinkShape {
    fn is_plain(self) -> bool {
        self.latency.is_none() && self.bandwidth.is_none()
    }
}

/// A running relay from its own 127.0.0.1 port to a target port.
#[derive(Debug)]
pub struct Relay {
    /// The port it listens on.
    port: u16,
    /// Where new connections go.
    target: Arc<AtomicU16>,
    /// Bumped to close every open connection.
    generation: watch::Sender<u64>,
    /// The accept loop, aborted on drop.
    accept: JoinHandle<()>,
}

impl Relay {
    /// Starts a relay to 127.0.0.1:`target` that shapes what it carries
    /// as `shape` says.
    pub async fn start(target: u16, shape: LinkShape) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let target = Arc::new(AtomicU16::new(target));
        let (generation, _) = watch::channel(0_u64);
        let accept = tokio::spawn(accept_loop(listener, target.clone(), generation.subscribe(), shape));
        Ok(Self {
            port,
            target,
            generation,
            accept,
        })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port new connections go to.
    pub fn target(&self) -> u16 {
        self.target.load(Ordering::SeqCst)
    }

    /// Points new connections at `target` and closes the open ones.
    pub fn point_at(&self, target: u16) {
        self.target.store(target, Ordering::SeqCst);
        self.cut();
    }

    /// Closes every open connection, dropping what it held in flight.
    pub fn cut(&self) {
        self.generation.send_modify(|generation| *generation += 1);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: Arc<AtomicU16>,
    generation: watch::Receiver<u64>,
    shape: LinkShape,
) {
    while let Ok((client, _)) = listener.accept().await {
        let port = target.load(Ordering::SeqCst);
        let mut closed = generation.clone();
        closed.mark_unchanged();
        tokio::spawn(async move {
            let Ok(upstream) = connect(port, !shape.is_plain()).await else {
                return;
            };
            tokio::select! {
                _ = relay(client, upstream, shape) => {}
                // A new generation, or the relay dropped: close, and drop
                // whatever the link still held.
                _ = closed.changed() => {}
            }
        });
    }
}

async fn connect(port: u16, small_buffer: bool) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if small_buffer {
        socket.set_recv_buffer_size(SHAPED_BUFFER)?;
    }
    socket.connect(([127, 0, 0, 1], port).into()).await
}

/// Copies both ways until either side closes, shaped as `shape` says
/// (latency both ways, bandwidth from the target back to the client).
async fn relay(client: TcpStream, upstream: TcpStream, shape: LinkShape) {
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let back = LinkShape {
        bandwidth: None,
        ..shape
    };
    tokio::select! {
        _ = shaped_copy(client_read, upstream_write, back) => {}
        _ = shaped_copy(upstream_read, client_write, shape) => {}
    }
}

/// Copies `from` to `to`. Shaped, a reader takes what arrives at once
/// (so the link, not the sender's buffers, holds what is in flight) and a
/// writer hands each chunk on `latency` after it arrived, at no more than
/// `bandwidth` (pacing, not synchronisation).
async fn shaped_copy(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    shape: LinkShape,
) -> std::io::Result<()> {
    if shape.is_plain() {
        return tokio::io::copy(&mut from, &mut to).await.map(|_| ());
    }
    let (chunks, mut arriving) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buffer = vec![0_u8; 16 * 1024];
        loop {
            let read = from.read(&mut buffer).await?;
            if read == 0 || chunks.send((Instant::now(), buffer[..read].to_vec())).is_err() {
                return Ok::<(), std::io::Error>(());
            }
        }
    };
    let write = async move {
        while let Some((arrived, chunk)) = arriving.recv().await {
            if let Some(latency) = shape.latency {
                tokio::time::sleep_until((arrived + latency).into()).await;
            }
            to.write_all(&chunk).await?;
            if let Some(rate) = shape.bandwidth {
                tokio::time::sleep(Duration::from_secs_f64(chunk.len() as f64 / rate.max(1) as f64)).await;
            }
        }
        Ok::<(), std::io::Error>(())
    };
    let (read, write) = tokio::join!(read, write);
    read.and(write)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> (u16, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        (port, task)
    }

    async fn round_trip(port: u16, text: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(text).await?;
        let mut back = vec![0; text.len()];
        stream.read_exact(&mut back).await?;
        Ok(back)
    }

    /// A relay moved to another server sends new connections there and
    /// closes the ones it had: the application reconnects to the new one.
    #[tokio::test]
    async fn a_moved_endpoint_closes_old_connections_and_reaches_the_new_target() {
        let (first, _a) = echo_server().await;
        let (second, _b) = echo_server().await;
        let relay = Relay::start(first, LinkShape::default()).await.unwrap();
        let mut old = TcpStream::connect(("127.0.0.1", relay.port())).await.unwrap();
        old.write_all(b"x").await.unwrap();
        let mut byte = [0; 1];
        old.read_exact(&mut byte).await.unwrap();
        relay.point_at(second);
        assert_eq!(relay.target(), second);
        let closed = tokio::time::timeout(Duration::from_secs(5), old.read(&mut byte)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
        assert_eq!(round_trip(relay.port(), b"hello").await.unwrap(), b"hello");
    }

    /// A throttled link carries 20 KiB at 40 KiB/s in about half a second,
    /// never in much less.
    #[tokio::test]
    async fn a_throttled_link_takes_the_time_its_bandwidth_says() {
        let (port, _server) = echo_server().await;
        let shape = LinkShape {
            bandwidth: Some(40 * 1024),
            ..LinkShape::default()
        };
        let relay = Relay::start(port, shape).await.unwrap();
        let started = std::time::Instant::now();
        let text = vec![7_u8; 20 * 1024];
        assert_eq!(round_trip(relay.port(), &text).await.unwrap(), text);
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }

    /// A link with latency delivers each byte that long after it was sent
    /// (both ways: a round trip takes twice), and a cut link loses what it
    /// still held: the reply never arrives.
    #[tokio::test]
    async fn a_link_with_latency_delays_and_a_cut_loses_what_is_in_flight() {
        let (port, _server) = echo_server().await;
        let shape = LinkShape {
            latency: Some(Duration::from_millis(150)),
            ..LinkShape::default()
        };
        let relay = Relay::start(port, shape).await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(round_trip(relay.port(), b"ping").await.unwrap(), b"ping");
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );

        let mut stream = TcpStream::connect(("127.0.0.1", relay.port())).await.unwrap();
        // One round trip first: the connection is through the relay (a
        // connection accepted after a cut is a new one, and carries on).
        let mut back = [0; 4];
        stream.write_all(b"once").await.unwrap();
        stream.read_exact(&mut back).await.unwrap();
        stream.write_all(b"lost").await.unwrap();
        relay.cut();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut back)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    }
}
