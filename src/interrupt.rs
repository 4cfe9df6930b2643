//! Ctrl-C, `kill` and a closed terminal (SIGINT, SIGTERM, SIGHUP), seen once for a whole
//! command: a build that runs several containers, pulls and tags images checks the same
//! [`Interrupt`] at every step, so a signal between two steps is not lost and cleanup
//! (containers, temporary volumes) always runs before cnb exits.
//!
//! Installing it replaces the signals' default action (dying at once) for the rest of
//! the process, so code that installs it must check it.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A signal that asks cnb to stop: its name and the exit status it maps to (128 + number,
/// as shells report a process killed by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub name: &'static str,
    pub code: u8,
}

/// The signals cnb stops for.
const SIGNALS: [(SignalKind, Stop); 3] = [
    (
        SignalKind::interrupt(),
        Stop {
            name: "SIGINT",
            code: 130,
        },
    ),
    (
        SignalKind::terminate(),
        Stop {
            name: "SIGTERM",
            code: 143,
        },
    ),
    (
        SignalKind::hangup(),
        Stop {
            name: "SIGHUP",
            code: 129,
        },
    ),
];

/// Whether a stop signal has arrived since [`Interrupt::install`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct Interrupt {
    seen: watch::Receiver<Option<Stop>>,
}

impl Interrupt {
    /// Starts listening (inside a tokio runtime). The first signal is kept; later ones
    /// change nothing.
    pub fn install() -> std::io::Result<Interrupt> {
        let (tx, rx) = watch::channel(None);
        for (kind, stop) in SIGNALS {
            let mut stream = signal(kind)?;
            let tx = tx.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    tx.send_if_modified(|seen| {
                        let first = seen.is_none();
                        if first {
                            *seen = Some(stop);
                        }
                        first
                    });
                }
            });
        }
        Ok(Interrupt { seen: rx })
    }

    /// The signal that arrived, if one did.
    pub fn stopped(&self) -> Option<Stop> {
        *self.seen.borrow()
    }

    /// Waits for a stop signal.
    pub async fn wait(&self) -> Stop {
        let mut seen = self.seen.clone();
        match seen.wait_for(Option::is_some).await {
            Ok(stop) => stop.unwrap_or(SIGNALS[0].1),
            // The listeners never drop their sender; if they did, no signal can come.
            Err(_) => std::future::pending().await,
        }
    }
}
