//! A chat room: each member sends its name, then lines; every line goes to the other members.

use std::io;

use tokio::io::{split, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// Serves the room. With `subscribe_first`, a member is subscribed to the room as soon as it
/// connects (the fix); without, only once its name has arrived (the bug: whatever is said
/// meanwhile never reaches it).
pub async fn serve(listener: TcpListener, subscribe_first: bool) -> io::Result<()> {
    let (room, _) = broadcast::channel::<(String, String)>(64);
    loop {
        let (socket, _) = listener.accept().await?;
        let room = room.clone();
        let early = subscribe_first.then(|| room.subscribe());
        tokio::spawn(async move {
            let _ = member(socket, room, early).await;
        });
    }
}

async fn member(
    socket: TcpStream,
    room: broadcast::Sender<(String, String)>,
    early: Option<broadcast::Receiver<(String, String)>>,
) -> io::Result<()> {
    let (rd, mut wr) = split(socket);
    let mut lines = BufReader::new(rd).lines();
    let Some(name) = lines.next_line().await? else {
        return Ok(());
    };
    let mut heard = match early {
        Some(rx) => rx,
        None => room.subscribe(),
    };
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(text) => {
                    let _ = room.send((name.clone(), text));
                }
                None => return Ok(()),
            },
            said = heard.recv() => match said {
                Ok((who, text)) if who != name => {
                    wr.write_all(format!("{who}: {text}\n").as_bytes()).await?;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}
