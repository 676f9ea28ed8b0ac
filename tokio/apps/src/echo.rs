//! A line echo service, and a client that retries a call when its reply is late.

use std::io;
use std::time::Duration;

use tokio::io::{split, AsyncBufReadExt, AsyncWriteExt, BufReader, Lines, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::time::timeout;

/// How long the client waits for a reply before it tries again.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(100);

/// Serves each connection in a task of its own: every line comes back.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (socket, _) = listener.accept().await?;
        tokio::spawn(async move {
            let (rd, mut wr) = split(socket);
            let mut lines = BufReader::new(rd).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if wr.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// A client of the echo service.
pub struct Client {
    lines: Lines<BufReader<ReadHalf<TcpStream>>>,
    wr: WriteHalf<TcpStream>,
    /// Whether a timed-out call reconnects before it retries (the fix) or retries on the same
    /// connection (the bug).
    reconnect_on_timeout: bool,
    addr: std::net::SocketAddr,
}

impl Client {
    /// Connects; `reconnect_on_timeout` chooses the fixed retry.
    pub async fn connect(
        addr: impl ToSocketAddrs,
        reconnect_on_timeout: bool,
    ) -> io::Result<Client> {
        let socket = TcpStream::connect(addr).await?;
        let addr = socket.peer_addr()?;
        let (rd, wr) = split(socket);
        Ok(Client {
            lines: BufReader::new(rd).lines(),
            wr,
            reconnect_on_timeout,
            addr,
        })
    }

    /// Sends `request` and returns the reply, retrying up to three times when the reply takes
    /// longer than [`REPLY_TIMEOUT`].
    ///
    /// The bug: a retry on the same connection leaves the first attempt's reply on the way;
    /// it arrives, answers the retry, and the retry's own reply answers the *next* call.
    pub async fn call(&mut self, request: &str) -> io::Result<String> {
        for _attempt in 0..3 {
            self.wr.write_all(format!("{request}\n").as_bytes()).await?;
            match timeout(REPLY_TIMEOUT, self.lines.next_line()).await {
                Ok(Ok(Some(reply))) => return Ok(reply),
                Ok(Ok(None)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(Err(e)) => return Err(e),
                Err(_late) if self.reconnect_on_timeout => {
                    // The fix: a late reply dies with its connection.
                    let socket = TcpStream::connect(self.addr).await?;
                    let (rd, wr) = split(socket);
                    self.lines = BufReader::new(rd).lines();
                    self.wr = wr;
                }
                Err(_late) => {}
            }
        }
        Err(io::ErrorKind::TimedOut.into())
    }
}
