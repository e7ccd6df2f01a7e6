//! The ceiling: a bare tokio-tungstenite broadcast server, with no auth, no channels, no
//! Redis and no per-connection queue bound. Whatever one connection sends, every other
//! connection receives. The hub's fan-out is compared with it in the same run (DESIGN §11).

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames kept for receivers that fall behind; beyond it they skip (the load generator sees
/// them as missing).
const BACKLOG: usize = 4096;

/// Serves on a random local port, printing `listening <addr>`, until killed.
pub async fn serve() -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let (frames, _) = broadcast::channel::<(u64, Utf8Bytes)>(BACKLOG);
    let mut next_id = 0u64;
    loop {
        let (stream, _) = listener.accept().await?;
        next_id += 1;
        tokio::spawn(connection(stream, next_id, frames.clone()));
    }
}

async fn connection(stream: TcpStream, id: u64, frames: broadcast::Sender<(u64, Utf8Bytes)>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let mut incoming = frames.subscribe();
    loop {
        tokio::select! {
            frame = incoming.recv() => {
                let mut pending = Vec::new();
                match frame {
                    Ok(frame) => pending.push(frame),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
                // Whatever else is already waiting goes out in the same write.
                while let Ok(frame) = incoming.try_recv() {
                    pending.push(frame);
                }
                for (from, text) in pending {
                    if from != id && ws.feed(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                if ws.flush().await.is_err() {
                    return;
                }
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let _ = frames.send((id, text));
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}
