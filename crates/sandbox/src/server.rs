//! Accepting and serving connections. The sandbox serves each connection
//! itself (rather than through `axum::serve`) so that a fault can close a
//! connection without an answer: the handler asks through the
//! [`ConnectionControl`] in its request's extensions, and the connection is
//! reset (`SO_LINGER` 0, so the client sees a reset, not a clean end).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// How long open connections may go on after a shutdown is asked for.
const GRACE: Duration = Duration::from_secs(1);

/// Lets a handler ask for its connection to be closed without an answer.
#[derive(Clone)]
pub(crate) struct ConnectionControl(Arc<Notify>);

impl ConnectionControl {
    /// Closes the connection at the next opportunity. The caller should then
    /// never finish, so that no answer is written first.
    pub(crate) fn abort(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections until `stop` turns true (or its sender goes away),
/// then gives open connections [`GRACE`] to finish and closes the rest.
pub(crate) async fn serve(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    while !*stop.borrow_and_update() {
        tokio::select! {
            changed = stop.changed() => {
                // The handle is gone: nobody can ask for a stop any more.
                if changed.is_err() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone(), stop.clone()));
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(GRACE, drain).await;
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, router: Router, mut stop: watch::Receiver<bool>) {
    // Small requests and answers should not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let abort = Arc::new(Notify::new());
    let control = ConnectionControl(abort.clone());
    let app = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(control.clone());
        app.call(request)
    });
    // No timer, so no header-read timeout: idle keep-alive connections stay
    // open until the client closes them, and never close by surprise.
    let mut connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = &mut connection => {}
        () = abort.notified() => {
            let parts = connection.into_parts();
            // Dropping the socket with a zero linger sends a reset.
            let _ = parts.io.inner().set_zero_linger();
        }
        _ = stop.changed() => {
            std::pin::Pin::new(&mut connection).graceful_shutdown();
            let _ = connection.await;
        }
    }
}
