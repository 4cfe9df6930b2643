//! A test host in its own network namespace, reachable from the host and from the Docker
//! daemon (which runs in the host namespace) at a 198.18.0.0/15 address.
//!
//! Layout for subnet index `k` (0..16384, picked at random and retried on collision): the
//! /30 starting at `198.18.0.0 + 4k`; host side `.1` on veth `cnbv<k>h`, namespace side `.2`
//! on `cnbv<k>n`, namespace `cnbtest-<pid>-<n>` with `lo` up. Needs root and `ip`
//! (iproute2); otherwise [`NetnsHost::start`] skips (or fails in CI).
//!
//! Start a registry in it with [`TestRegistry::start_in_netns`](super::TestRegistry::start_in_netns)
//! (plain HTTP on `<ip>:5000`): the host reaches it, and the Docker daemon refuses it as an
//! insecure registry (it is not loopback), which is what insecure-registry tests need.
//! Declare the `NetnsHost` before the registry so the registry is dropped first.

use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use super::{must_run, next_id, run_with_timeout, skip_or_fail};

const LIMIT: Duration = Duration::from_secs(20);

pub struct NetnsHost {
    name: String,
    veth_host: String,
    host_ip: Ipv4Addr,
    ns_ip: Ipv4Addr,
}

impl NetnsHost {
    /// Creates the namespace and the veth pair. `None` (with `skipping: <reason>` printed)
    /// when not root or `ip` is missing; panics instead when `CI` is set.
    pub fn start() -> Option<NetnsHost> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            skip_or_fail("network namespaces need root");
            return None;
        }
        match run_with_timeout(Command::new("ip").arg("-V"), LIMIT) {
            Ok(o) if o.success() => {}
            _ => {
                skip_or_fail("`ip` (iproute2) is not available");
                return None;
            }
        }
        remove_stale_namespaces();
        let name = format!("cnbtest-{}-{}", std::process::id(), next_id());
        let mut last_err = String::new();
        for attempt in 0..8u32 {
            let k = pick_subnet(attempt);
            let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + 4 * k;
            let host_ip = Ipv4Addr::from(base + 1);
            let ns_ip = Ipv4Addr::from(base + 2);
            let host = NetnsHost {
                name: name.clone(),
                veth_host: format!("cnbv{k}h"),
                host_ip,
                ns_ip,
            };
            match host.setup(k) {
                Ok(()) => return Some(host),
                Err(e) => {
                    last_err = e;
                    drop(host); // cleans whatever was made
                }
            }
        }
        panic!("test support: cannot set up a network namespace: {last_err}")
    }

    fn setup(&self, k: u32) -> Result<(), String> {
        let veth_ns = format!("cnbv{k}n");
        let in_use = run_with_timeout(Command::new("ip").args(["-o", "-4", "addr"]), LIMIT)
            .map(|o| o.stdout)
            .unwrap_or_default();
        if in_use.contains(&format!("{}/", self.host_ip)) {
            return Err(format!("{} is in use", self.host_ip));
        }
        let host_cidr = format!("{}/30", self.host_ip);
        let ns_cidr = format!("{}/30", self.ns_ip);
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", &self.name],
            vec![
                "link",
                "add",
                &self.veth_host,
                "type",
                "veth",
                "peer",
                "name",
                &veth_ns,
            ],
            vec!["link", "set", &veth_ns, "netns", &self.name],
            vec!["addr", "add", &host_cidr, "dev", &self.veth_host],
            vec!["link", "set", &self.veth_host, "up"],
            vec!["-n", &self.name, "addr", "add", &ns_cidr, "dev", &veth_ns],
            vec!["-n", &self.name, "link", "set", &veth_ns, "up"],
            vec!["-n", &self.name, "link", "set", "lo", "up"],
        ];
        for args in steps {
            let out = run_with_timeout(Command::new("ip").args(&args), LIMIT)
                .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
            if !out.success() {
                return Err(format!("ip {}: {}", args.join(" "), out.stderr.trim()));
            }
        }
        Ok(())
    }

    /// The namespace's address (where its services listen), e.g. `198.18.0.2`.
    pub fn ip(&self) -> Ipv4Addr {
        self.ns_ip
    }

    /// The host side of the veth pair, e.g. `198.18.0.1`.
    pub fn host_ip(&self) -> Ipv4Addr {
        self.host_ip
    }

    /// The namespace name (`ip netns exec <name> ...`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A TCP listener on `<ip>:<port>` inside the namespace, for a server the test runs
    /// itself. A socket stays in the namespace it was made in, so only the short-lived
    /// thread that makes it enters the namespace; the listener works from any thread.
    pub fn listen(&self, port: u16) -> TcpListener {
        let path = format!("/run/netns/{}", self.name);
        let ip = self.ns_ip;
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path)
                .unwrap_or_else(|e| panic!("test support: open {path}: {e}"));
            // SAFETY: moves this thread (which ends right after the bind) into the
            // namespace `ns` names; the descriptor is owned here and open.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(
                rc,
                0,
                "test support: setns {path}: {}",
                std::io::Error::last_os_error()
            );
            TcpListener::bind((ip, port))
                .unwrap_or_else(|e| panic!("test support: bind {ip}:{port} in {path}: {e}"))
        })
        .join()
        .expect("test support: the namespace's listener thread")
    }

    /// A `Command` that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for NetnsHost {
    fn drop(&mut self) {
        // Kill anything still running inside, then remove the link (its peer goes with it)
        // and the namespace.
        if let Ok(out) = run_with_timeout(
            Command::new("ip").args(["netns", "pids", &self.name]),
            LIMIT,
        ) {
            for pid in out.stdout.split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    // SAFETY: plain kill(2) on a pid that lives in our own namespace.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
            }
        }
        let _ = run_with_timeout(
            Command::new("ip").args(["link", "del", &self.veth_host]),
            LIMIT,
        );
        let _ = run_with_timeout(Command::new("ip").args(["netns", "del", &self.name]), LIMIT);
    }
}

/// Deletes `cnbtest-<pid>-<n>` namespaces whose test process is gone (killed before its
/// `Drop` ran); their veth pairs go with them.
fn remove_stale_namespaces() {
    let Ok(out) = run_with_timeout(Command::new("ip").args(["netns", "list"]), LIMIT) else {
        return;
    };
    for name in out
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
    {
        let Some(pid) = name
            .strip_prefix("cnbtest-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run_with_timeout(Command::new("ip").args(["netns", "del", name]), LIMIT);
        }
    }
}

/// A subnet index in 0..16384 (198.18.0.0/16 in /30s), different per process and attempt.
fn pick_subnet(attempt: u32) -> u32 {
    let seed = std::process::id()
        .wrapping_mul(2_654_435_761)
        .wrapping_add(next_id().wrapping_mul(40_503))
        .wrapping_add(attempt.wrapping_mul(97));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (seed ^ nanos) % 16384
}

/// Panics unless `ip` works (used by tests that already decided to run).
pub fn ip(args: &[&str]) -> String {
    must_run("ip", args, LIMIT)
}
