//! Connection workers: one single-threaded runtime per core serving client connections.
//!
//! The listener accepts on the main runtime and hands each connection to a worker thread
//! (round robin). Everything that connection then does — HTTP, the WebSocket session, the
//! session's upstream socket — runs on that one thread, so a message never wakes another core.
//! On the multi-threaded runtime the same message path paid for work-stealing wakeups
//! (`finish_task_switch` and spin-unlocks were a fifth of the gateway's CPU in `perf`); see
//! BENCHMARKS.md. Health checks, ACME and the admin side stay on the main runtime.

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// Handshakes slower than this are dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Hands accepted connections to the workers; dropping it ends their intake.
pub(crate) struct Dispatcher {
    inboxes: Vec<mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>>,
    next: AtomicUsize,
}

/// The worker threads and the way to stop them.
pub(crate) struct Workers {
    /// Flipped to ask every connection to finish (graceful), then to stop waiting (force).
    stop: watch::Sender<Stop>,
    done: Vec<oneshot::Receiver<()>>,
}

/// How far a stop has gone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Running,
    Graceful,
    Force,
}

/// The number of workers `configured` asks for (`0`: one per core).
pub(crate) fn count(configured: usize) -> usize {
    if configured > 0 { configured } else { std::thread::available_parallelism().map_or(1, usize::from) }
}

impl Workers {
    /// Starts `n` worker threads serving `router`, with TLS when `tls` is set.
    pub(crate) fn start(
        n: usize,
        router: axum::Router,
        tls: Option<Arc<rustls::ServerConfig>>,
        state: Arc<crate::GatewayState>,
    ) -> std::io::Result<(Dispatcher, Self)> {
        let (stop, _) = watch::channel(Stop::Running);
        let mut inboxes = Vec::with_capacity(n);
        let mut done = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = mpsc::unbounded_channel();
            let (done_tx, done_rx) = oneshot::channel();
            let spin = Duration::from_micros(state.config.load().busy_poll_us);
            let mut builder = tokio::runtime::Builder::new_current_thread();
            if !spin.is_zero() {
                builder.on_thread_unpark(crate::spin::on_unpark);
            }
            let runtime = builder.enable_all().build()?;
            let worker = Worker {
                router: router.clone(),
                tls: tls.clone().map(TlsAcceptor::from),
                stop: stop.subscribe(),
                state: state.clone(),
                spin,
            };
            std::thread::Builder::new().name(format!("gateway-worker-{i}")).spawn(move || {
                runtime.block_on(worker.run(rx));
                // Tasks still alive (sessions past the deadline) are dropped with the runtime.
                drop(runtime);
                let _ = done_tx.send(());
            })?;
            inboxes.push(tx);
            done.push(done_rx);
        }
        Ok((Dispatcher { inboxes, next: AtomicUsize::new(0) }, Self { stop, done }))
    }

    /// Asks every connection to finish and waits up to `deadline`; then stops the rest.
    pub(crate) async fn shutdown(mut self, deadline: Duration) {
        self.stop.send_replace(Stop::Graceful);
        let done = std::mem::take(&mut self.done);
        let all = futures_util::future::join_all(done);
        tokio::pin!(all);
        if tokio::time::timeout(deadline, &mut all).await.is_err() {
            tracing::warn!(?deadline, "connections still open at the shutdown deadline; closing them");
            self.stop.send_replace(Stop::Force);
            let _ = tokio::time::timeout(Duration::from_secs(2), all).await;
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Open connections are told to stop at once; the threads end when the dispatcher is gone.
        self.stop.send_replace(Stop::Force);
    }
}

impl Dispatcher {
    /// Hands an accepted connection to the next worker.
    pub(crate) fn dispatch(&self, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let tcp = match tcp.into_std() {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "cannot hand a connection to a worker");
                return;
            }
        };
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.inboxes.len();
        let _ = self.inboxes[i].send((tcp, peer));
    }
}

/// One worker thread's side.
struct Worker {
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    stop: watch::Receiver<Stop>,
    state: Arc<crate::GatewayState>,
    /// The longest busy-polling window (`busy_poll_us`; adapted per worker by `crate::spin`); zero: off.
    spin: Duration,
}

impl Worker {
    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>) {
        let mut connections = tokio::task::JoinSet::new();
        // Ends with this thread's runtime, which is dropped as soon as this returns.
        if !self.spin.is_zero() {
            tokio::spawn(crate::spin::spinner(self.spin));
        }
        loop {
            tokio::select! {
                next = inbox.recv() => match next {
                    Some((tcp, peer)) => match TcpStream::from_std(tcp) {
                        Ok(tcp) => {
                            connections.spawn(serve(tcp, peer, self.router.clone(), self.tls.clone(), self.stop.clone()));
                        }
                        Err(e) => tracing::warn!(%peer, error = %e, "worker cannot take a connection"),
                    },
                    None => break,
                },
                // Reap finished connections so the set stays small.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                _ = self.stop.changed() => {
                    if *self.stop.borrow() != Stop::Running {
                        break;
                    }
                }
            }
        }
        // Draining: HTTP connections finish their request; WebSocket sessions close themselves
        // (they watch the gateway's shutdown flag). Wait for both unless forced.
        let drained = async {
            while connections.join_next().await.is_some() {}
            while self.state.total_connections.load(Ordering::Relaxed) > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let forced = async { self.stop.wait_for(|s| *s == Stop::Force).await.map(|_| ()) };
        tokio::select! {
            _ = drained => {}
            _ = forced => connections.abort_all(),
        }
    }
}

/// Serves one client connection (TLS handshake first when configured).
async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    stop: watch::Receiver<Stop>,
) {
    match tls {
        None => serve_http(tcp, peer, router, stop).await,
        Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => serve_http(stream, peer, router, stop).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        },
    }
}

async fn serve_http<S>(io: S, peer: SocketAddr, router: axum::Router, mut stop: watch::Receiver<Stop>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        // What `into_make_service_with_connect_info` would give handlers.
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { router.call(req).await }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "client connection ended with an error");
            }
        }
        _ = async { stop.wait_for(|s| *s != Stop::Running).await.map(|_| ()) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
