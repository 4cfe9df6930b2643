//! A `cnb` (or any) process running in the background, with its output collected live, so a
//! test can wait for a line, send SIGINT/SIGTERM, and then collect the result.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Output, wait_for};

/// How a process bounded by [`BackgroundProcess::wait_or_kill`] ended: `status` is `None`
/// when it was still running at the limit and was killed.
#[derive(Debug)]
pub struct Bounded {
    pub status: Option<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Bounded {
    /// Whether it had to be killed.
    pub fn killed(&self) -> bool {
        self.status.is_none()
    }

    /// Whether it exited on its own with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// A spawned process whose stdout and stderr are read continuously. Killed on drop.
pub struct BackgroundProcess {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl BackgroundProcess {
    /// Spawns `cmd` (stdin closed, stdout/stderr piped), e.g. `cnb_cmd(&home)` with args.
    pub fn spawn(mut cmd: Command) -> BackgroundProcess {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("{cmd:?}");
        let mut child = super::spawn_tied(cmd)
            .unwrap_or_else(|e| panic!("test support: cannot spawn {shown}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            readers.push(pump(pipe, stdout.clone()));
        }
        if let Some(pipe) = child.stderr.take() {
            readers.push(pump(pipe, stderr.clone()));
        }
        BackgroundProcess {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Output so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().map(|b| b.clone()).unwrap_or_default())
            .into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().map(|b| b.clone()).unwrap_or_default())
            .into_owned()
    }

    /// Waits until stdout or stderr contains `needle`; false after `limit` or when the
    /// process exited without printing it.
    pub fn wait_for_output(&mut self, needle: &str, limit: Duration) -> bool {
        wait_for(limit, || {
            if self.stdout().contains(needle) || self.stderr().contains(needle) {
                return Some(true);
            }
            match self.child.try_wait() {
                Ok(Some(_)) => {
                    // Exited: give the readers a moment to drain, then look once more.
                    std::thread::sleep(Duration::from_millis(100));
                    Some(self.stdout().contains(needle) || self.stderr().contains(needle))
                }
                _ => None,
            }
        })
        .unwrap_or(false)
    }

    /// Sends `signal` (`libc::SIGINT`, `libc::SIGTERM`, ...) to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// Waits up to `limit` for the exit and returns everything it printed; kills it and
    /// panics on timeout.
    #[track_caller]
    pub fn wait(self, limit: Duration) -> Output {
        let ended = self.wait_or_kill(limit);
        let Some(status) = ended.status else {
            panic!(
                "process did not exit within {limit:?}\n--- stdout\n{}\n--- stderr\n{}",
                ended.stdout, ended.stderr
            );
        };
        Output {
            status,
            stdout: ended.stdout,
            stderr: ended.stderr,
        }
    }

    /// Waits up to `limit` for the exit; a process still running then gets SIGKILL (so one
    /// that ignores SIGTERM ends too). Returns everything it printed either way.
    pub fn wait_or_kill(mut self, limit: Duration) -> Bounded {
        let status = wait_for(limit, || self.child.try_wait().ok().flatten());
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The pipes close when every holder exits; a grandchild that inherited them could
        // keep them open, so wait for the readers only briefly.
        let _ = wait_for(Duration::from_secs(2), || {
            self.readers.iter().all(|r| r.is_finished()).then_some(())
        });
        Bounded {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for BackgroundProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn pump(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut v) = into.lock() {
                        v.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
    })
}
