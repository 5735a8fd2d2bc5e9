//! Busy polling (`busy_poll_us`): a worker that has just handled a frame keeps polling its
//! sockets for a short while instead of going to sleep, for as long as that pays.
//!
//! On a request/answer path with nothing else to do, a worker sleeps in the kernel after every
//! frame and is woken for the next one. On a virtual machine whose guest does not poll before
//! halting (`guest_halt_poll_ns = 0`, as here), waking a sleeping CPU costs tens of microseconds —
//! most of a loopback round trip (BENCHMARKS.md). So one task per worker (the spinner) keeps the
//! runtime polling without blocking (`epoll_wait` with a zero timeout) for a window after each
//! frame, then lets it sleep.
//!
//! The window adapts like Linux's guest-haltpoll governor: it grows when the worker slept and
//! the next frame came sooner than `busy_poll_us` (spinning would have caught it), shrinks when
//! frames are further apart than that (spinning only burns CPU) — and, what haltpoll need not
//! do, shrinks when another thread wanted this core while the worker spun (the node, on a shared
//! host): every spin turn offers the core with `sched_yield`, and the thread's involuntary
//! context switches tell whether anyone took it. So an idle or sparsely used worker sleeps, a
//! single busy client gets the short round trip, and a loaded host is not robbed.

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// How often a spinning worker looks whether another thread wants a core.
const CONTENTION_CHECK: Duration = Duration::from_millis(1);

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

/// One worker's spin window, adapted to what spinning buys (see the module doc).
#[derive(Debug, Clone, Copy)]
struct Governor {
    /// `busy_poll_us`: the window never exceeds it, and gaps longer than it are not worth one.
    max: Duration,
    /// The window now; zero: the worker sleeps as soon as it has nothing to do.
    window: Duration,
}

impl Governor {
    /// A governor for windows up to `max`, starting closed (no traffic seen yet).
    fn new(max: Duration) -> Self {
        Self { max, window: Duration::ZERO }
    }

    /// The window to spin for after a frame.
    fn window(&self) -> Duration {
        self.window
    }

    /// The smallest open window: where growing starts and below which shrinking closes it.
    fn min_open(&self) -> Duration {
        (self.max / 4).max(Duration::from_micros(1)).min(self.max)
    }

    /// The next frame came `gap` after the one before, the worker having slept in between.
    fn slept(&mut self, gap: Duration) {
        if gap <= self.window {
            // The window as it is covers such gaps (a spin ends only once it has passed).
        } else if gap <= self.max {
            // A longer window would have caught this frame awake.
            self.window = (self.window * 2).max(self.min_open()).min(self.max);
        } else {
            self.shrink();
        }
    }

    /// Another thread wanted this core while the worker spun. Halved, not closed, and free to
    /// grow again after the next short sleep: a request/answer chain is itself sometimes woken
    /// onto the spinning core (holding the window shut for 100 ms after each such switch lost
    /// the whole gain at 1 connection; BENCHMARKS.md).
    fn contended(&mut self) {
        self.shrink();
    }

    fn shrink(&mut self) {
        self.window /= 2;
        if self.window < self.min_open() {
            self.window = Duration::ZERO;
        }
    }
}

/// Whether another thread wanted this worker's core: the worker was switched out while
/// runnable since the last look — preempted, or a `sched_yield` found someone waiting. (The
/// machine-wide count of runnable threads in `/proc/loadavg` was tried as well and dropped: a
/// single request/answer chain alone briefly has more runnable threads than cores, so it shut
/// spinning off exactly where it pays; BENCHMARKS.md.)
struct Contention {
    /// This thread's involuntary context switches at the last look.
    switches: Option<libc::c_long>,
}

impl Contention {
    fn new() -> Self {
        Self { switches: involuntary_switches() }
    }

    /// Looks (one system call) and remembers what it saw for the next look.
    fn seen(&mut self) -> bool {
        let switches = involuntary_switches();
        let switched = switches > self.switches;
        self.switches = switches;
        switched
    }
}

/// This thread's involuntary context switches so far. `None` where the kernel does not count
/// them per thread.
fn involuntary_switches() -> Option<libc::c_long> {
    #[cfg(target_os = "linux")]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` is valid for writes of one `rusage`, which is all getrusage writes;
        // RUSAGE_THREAD asks about the calling thread only.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
        // SAFETY: on success getrusage has filled the struct (and it was zeroed before).
        (rc == 0).then(|| unsafe { usage.assume_init() }.ru_nivcsw)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Waits until a wake-up of the thread has led to a frame (`FRAMES` moved past `seen`). The
/// unpark hook wakes this task after the tasks the wake-up was for, so they have run by the
/// time it looks.
async fn next_frame_after_sleep(seen: u64) -> u64 {
    poll_fn(|cx| {
        let now = FRAMES.get();
        if now != seen {
            return Poll::Ready(now);
        }
        SPINNER.set(Some(cx.waker().clone()));
        Poll::Pending
    })
    .await
}

/// The spinner of one worker thread: after each frame, yields to the runtime (which then polls
/// its sockets without blocking) while the governor's window lasts, offering the core to other
/// threads on every turn; then sleeps until a frame comes, and tells the governor how long that
/// was.
pub(crate) async fn spinner(max: Duration) {
    let mut contention = Contention::new();
    spin(max, move || contention.seen(), crate::metrics::busy_poll()).await;
}

/// [`spinner`] with its contention signal given (tests use one that never sees contention, so
/// that a loaded test machine does not close the window).
async fn spin(max: Duration, mut contended: impl FnMut() -> bool, counters: crate::metrics::BusyPoll) {
    let mut governor = Governor::new(max);
    let mut seen = FRAMES.get();
    let mut last_frame = Instant::now();
    loop {
        if !governor.window().is_zero() {
            counters.windows.increment(1);
            // A fresh baseline: being preempted while working before this spin does not count.
            contended();
            let mut checked = Instant::now();
            loop {
                tokio::task::yield_now().await;
                std::thread::yield_now();
                let now = FRAMES.get();
                let t = Instant::now();
                if now != seen {
                    seen = now;
                    last_frame = t;
                } else if t.duration_since(last_frame) >= governor.window() {
                    // A last look before sleeping: was the core wanted since the last one?
                    if contended() {
                        counters.contended.increment(1);
                        governor.contended();
                    }
                    break;
                }
                if t.duration_since(checked) >= CONTENTION_CHECK {
                    checked = t;
                    if contended() {
                        counters.contended.increment(1);
                        governor.contended();
                        if governor.window().is_zero() {
                            break;
                        }
                    }
                }
            }
        }
        seen = next_frame_after_sleep(seen).await;
        let t = Instant::now();
        governor.slept(t.duration_since(last_frame));
        last_frame = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_micros(200);

    #[test]
    fn governor_opens_on_gaps_a_window_would_catch_and_closes_on_longer_ones() {
        let mut g = Governor::new(MAX);
        assert_eq!(g.window(), Duration::ZERO, "closed before any traffic");
        // Frames 80 µs apart with the worker asleep in between: the window opens, then doubles.
        g.slept(Duration::from_micros(80));
        assert_eq!(g.window(), Duration::from_micros(50));
        g.slept(Duration::from_micros(80));
        assert_eq!(g.window(), Duration::from_micros(100));
        // A gap the window already covers: unchanged.
        g.slept(Duration::from_micros(90));
        assert_eq!(g.window(), Duration::from_micros(100));
        g.slept(Duration::from_micros(150));
        g.slept(Duration::from_micros(150));
        assert_eq!(g.window(), MAX, "never past busy_poll_us");
        // Gaps longer than busy_poll_us: halve, and close below the smallest open window.
        g.slept(Duration::from_millis(5));
        assert_eq!(g.window(), Duration::from_micros(100));
        g.slept(Duration::from_millis(5));
        assert_eq!(g.window(), Duration::from_micros(50));
        g.slept(Duration::from_millis(5));
        assert_eq!(g.window(), Duration::ZERO);
        g.slept(Duration::from_millis(5));
        assert_eq!(g.window(), Duration::ZERO);
        // A 1 µs maximum still opens (the smallest window is 1 µs, not 0).
        let mut tiny = Governor::new(Duration::from_micros(1));
        tiny.slept(Duration::from_nanos(500));
        assert_eq!(tiny.window(), Duration::from_micros(1));
    }

    #[test]
    fn governor_halves_when_the_core_is_wanted_and_regrows_after_short_sleeps() {
        let mut g = Governor::new(MAX);
        for _ in 0..4 {
            g.slept(Duration::from_micros(150));
        }
        assert_eq!(g.window(), MAX);
        g.contended();
        assert_eq!(g.window(), Duration::from_micros(100));
        g.contended();
        g.contended();
        assert_eq!(g.window(), Duration::ZERO, "closed under lasting contention");
        g.slept(Duration::from_micros(150));
        assert_eq!(g.window(), Duration::from_micros(50), "reopens after a short sleep");
    }

    /// The contention signal comes on when more threads want to run than there are cores.
    #[cfg(target_os = "linux")]
    #[test]
    fn contention_is_seen_when_threads_outnumber_cores() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut contention = Contention::new();
        assert!(involuntary_switches().is_some(), "Linux counts per-thread context switches");
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let stop = Arc::new(AtomicBool::new(false));
        let busy: Vec<_> = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        // Spin as the spinner does, offering the core on every turn, until contention shows
        // (bounded: 5 s, far more than a scheduler slice).
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = false;
        while !seen && Instant::now() < deadline {
            std::thread::yield_now();
            seen = contention.seen();
        }
        stop.store(true, Ordering::Relaxed);
        for t in busy {
            let _ = t.join();
        }
        assert!(seen, "no contention seen with {cores} busy threads on as many cores");
    }

    /// The spinner sleeps while nothing happens, opens its window once frames come closer
    /// together than `max`, then keeps the runtime from parking for the window after a frame,
    /// and sleeps again when frames stop. Observed through the runtime's park hook, not time.
    #[test]
    fn spins_after_frames_that_come_close_together_and_sleeps_without_them() {
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
            // Generous sizes: a loaded test machine must not close a window by being slow.
            let max = Duration::from_secs(2);
            tokio::spawn(spin(max, || false, crate::metrics::busy_poll()));
            // No frames: a 50 ms sleep is one park (perhaps two), the spinner does not spin.
            let before = parks.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let idle = parks.load(Ordering::Relaxed) - before;
            assert!(idle <= 2, "{idle} parks while idle");
            // Frames 20 ms apart (well inside `max`), each after a sleep: the window opens.
            for _ in 0..4 {
                frame_handled();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // The window is open (at least max / 4): after a frame, a sleep well inside it never parks.
            frame_handled();
            tokio::task::yield_now().await;
            let before = parks.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(parks.load(Ordering::Relaxed) - before, 0, "parked while spinning");
            // After the window it sleeps again.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let before = parks.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(parks.load(Ordering::Relaxed) - before >= 1, "still spinning after the window");
        });
    }
}
