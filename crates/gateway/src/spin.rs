//! Busy polling (`busy_poll_us`): a worker that has just handled a frame keeps polling its
//! sockets for a short while instead of going to sleep.
//!
//! On a request/answer path with nothing else to do, a worker sleeps in the kernel after every
//! frame and is woken for the next one. On a virtual machine waking a sleeping CPU costs tens of
//! microseconds — most of a loopback round trip (BENCHMARKS.md). With a window set, one task per
//! worker (the spinner) keeps the runtime polling without blocking (`epoll_wait` with a zero
//! timeout) until no frame has been handled for that long, then lets it sleep. The cost is CPU:
//! up to the window after every burst of frames, a whole core while frames keep coming just
//! slower than the window. Off by default, as in HAProxy (`busy-polling`).

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

thread_local! {
    /// Frames handled on this worker thread, ever: the spinner spins while this moves.
    static FRAMES: Cell<u64> = const { Cell::new(0) };
    /// The spinner, when it waits for the thread to be woken.
    static SPINNER: Cell<Option<Waker>> = const { Cell::new(None) };
}

/// Counts a frame handled on this thread: a client or upstream WebSocket message, an HTTP
/// JSON-RPC request, an answer on a shared connection.
pub(crate) fn frame_handled() {
    FRAMES.with(|f| f.set(f.get().wrapping_add(1)));
}

/// The worker runtime's `on_thread_unpark` hook: the thread was woken from sleep, so the
/// spinner looks whether a frame comes of it.
pub(crate) fn on_unpark() {
    if let Some(w) = SPINNER.take() {
        w.wake();
    }
}

/// The spinner of one worker thread: after each frame, yields to the runtime (which then polls
/// its sockets without blocking) until no frame has been handled for `window`.
pub(crate) async fn spinner(window: Duration) {
    let mut seen = FRAMES.get();
    loop {
        // Wait until a wake-up of the thread has led to a frame. The hook wakes this task after
        // the tasks the wake-up was for, so they have run by the time this looks.
        poll_fn(|cx| {
            if FRAMES.get() != seen {
                return Poll::Ready(());
            }
            SPINNER.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
        seen = FRAMES.get();
        let mut until = Instant::now() + window;
        loop {
            tokio::task::yield_now().await;
            let now = FRAMES.get();
            if now != seen {
                seen = now;
                until = Instant::now() + window;
            } else if Instant::now() >= until {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spinner sleeps while nothing happens and spins (keeps the runtime from parking) for
    /// the window after a frame. Observed through the runtime's park hook, not through time.
    #[test]
    fn spins_after_a_frame_and_sleeps_without_one() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let parks = Arc::new(AtomicU64::new(0));
        let p = parks.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || {
                p.fetch_add(1, Ordering::Relaxed);
            })
            .on_thread_unpark(on_unpark)
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::spawn(spinner(Duration::from_secs(1)));
            // No frames: a 50 ms sleep is one park (perhaps two), the spinner does not spin.
            let before = parks.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let idle = parks.load(Ordering::Relaxed) - before;
            assert!(idle <= 2, "{idle} parks while idle");
            // A frame, then a sleep well inside the window: the thread never parks meanwhile.
            frame_handled();
            tokio::task::yield_now().await;
            let before = parks.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(parks.load(Ordering::Relaxed) - before, 0, "parked while spinning");
            // After the window it sleeps again.
            tokio::time::sleep(Duration::from_millis(1200)).await;
            let before = parks.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(parks.load(Ordering::Relaxed) - before >= 1, "still spinning after the window");
        });
    }
}
