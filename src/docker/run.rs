//! The lifecycle container: create, upload, attach, start, wait, remove.
//!
//! Cleanup guarantee: once the container is created it is force-removed before
//! [`run`] returns — after a normal exit, after any error, and after SIGINT, SIGTERM or
//! SIGHUP (which then becomes exit status 130, 143 or 129).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder,
    DownloadFromContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Daemon, DockerError, Made, archive, message};
use crate::error::ExitStatus;
use crate::interrupt::{Interrupt, Stop};
use crate::lifecycle::ContainerSpec;
use crate::ui::Ui;

/// How long the output stream may lag behind the container's exit (it normally ends at
/// once; a long backlog of output is still copied in full within this time).
const OUTPUT_DRAIN: Duration = Duration::from_secs(60);

/// How often a long upload of the app says how far it got.
const UPLOAD_HEARTBEAT: Duration = Duration::from_secs(5);

/// Extra settings for [`Daemon::run_with`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Container name; `None` for a generated `cnb-lifecycle-<pid>-<time>`.
    pub name: Option<String>,
    /// Labels put on the container (besides cnb's own).
    pub labels: HashMap<String, String>,
    /// The command's stop signals, when the command watches them itself and removes what
    /// the daemon tracks when one comes ([`Daemon::clean_up`]); `None` listens for the
    /// length of this run only and removes the container itself.
    pub interrupt: Option<Interrupt>,
    /// After a successful exit, list the paths under this directory of the container
    /// (before it is removed) into [`RunOutcome::listed`].
    pub list_after: Option<String>,
}

/// How a container run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: i64,
    /// Paths under [`RunOptions::list_after`], relative to its parent (`generated/...`);
    /// empty when it does not exist.
    pub listed: Vec<String>,
}

/// At most this much of a listed directory is read (the Dockerfiles extensions generate
/// are small).
const LIST_LIMIT: u64 = 16 * 1024 * 1024;

/// Label on every container cnb creates, so stray ones can be found (`docker ps -a --filter label=...`).
pub const CONTAINER_LABEL: &str = "io.cnb.lifecycle";

fn generated_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("cnb-lifecycle-{}-{:x}", std::process::id(), nanos)
}

enum Outcome {
    Finished(anyhow::Result<RunOutcome>),
    Signal(Stop),
}

pub(crate) async fn run(
    daemon: &Daemon,
    spec: &ContainerSpec,
    options: &RunOptions,
    ui: &Ui,
) -> anyhow::Result<RunOutcome> {
    let name = options.name.clone().unwrap_or_else(generated_name);
    if let Some(interrupt) = &options.interrupt {
        // The caller watches the signals for the whole command and removes what is
        // tracked when one comes; this run only has to be tracked.
        if let Some(stop) = interrupt.stopped() {
            return Err(stopped(stop, "no container was started".to_string()));
        }
        daemon.track(Made::Container, &name);
        let result = match create(daemon, spec, &name, options).await {
            Ok(()) => {
                ui.verbose(1, format!("Created container {name} from {}", spec.image));
                drive(daemon, spec, &name, options, ui).await
            }
            Err(e) => Err(e.into()),
        };
        finish(daemon, &name, ui).await;
        return result;
    }

    // On its own: listening before the container exists, so a Ctrl-C at any point after
    // this is seen (and not the default "die now and leave the container behind").
    let interrupt = Interrupt::install().context("cannot handle SIGINT, SIGTERM and SIGHUP")?;
    create(daemon, spec, &name, options).await?;
    ui.verbose(1, format!("Created container {name} from {}", spec.image));

    let outcome = tokio::select! {
        result = drive(daemon, spec, &name, options, ui) => Outcome::Finished(result),
        stop = interrupt.wait() => Outcome::Signal(stop),
    };

    match outcome {
        Outcome::Finished(result) => {
            finish(daemon, &name, ui).await;
            result
        }
        Outcome::Signal(stop) => {
            let what = match remove(daemon, &name).await {
                Ok(()) => "the build container was removed".to_string(),
                Err(e) => format!(
                    "could not remove container {name} ({e}); remove it with `docker rm -f {name}`"
                ),
            };
            Err(stopped(stop, what))
        }
    }
}

/// Removes the container after its run, saying so when it cannot.
async fn finish(daemon: &Daemon, name: &str, ui: &Ui) {
    match remove(daemon, name).await {
        Ok(()) => daemon.forget(Made::Container, name),
        Err(e) => ui.warn(format!(
            "could not remove container {name}: {e}; remove it with `docker rm -f {name}`"
        )),
    }
}

/// The error a stop signal ends a command with: its exit status and what was cleaned up.
pub(crate) fn stopped(stop: Stop, what: String) -> anyhow::Error {
    ExitStatus {
        code: stop.code,
        message: format!("interrupted by {}; {what}", stop.name),
    }
    .into()
}

async fn create(
    daemon: &Daemon,
    spec: &ContainerSpec,
    name: &str,
    options: &RunOptions,
) -> Result<(), DockerError> {
    let mut labels = options.labels.clone();
    labels.insert(CONTAINER_LABEL.to_string(), "true".to_string());
    let mounts = spec
        .volumes
        .iter()
        .map(|(volume, target)| Mount {
            typ: Some(MountType::VOLUME),
            source: Some(volume.clone()),
            target: Some(target.clone()),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        // An empty list (not `None`) clears the image's entrypoint.
        entrypoint: Some(Vec::new()),
        cmd: Some(spec.command.clone()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: Some(spec.user.clone()),
        labels: Some(labels),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        attach_stdin: Some(false),
        open_stdin: Some(false),
        tty: Some(false),
        host_config: Some(HostConfig {
            binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
            mounts: (!mounts.is_empty()).then_some(mounts),
            network_mode: spec.network.clone(),
            security_opt: (!spec.security_opt.is_empty()).then(|| spec.security_opt.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    daemon
        .client
        .create_container(Some(options), body)
        .await
        .map(|_| ())
        .map_err(|e| {
            DockerError::api(
                format!("cannot create the container from {}", spec.image),
                &e,
            )
        })
}

pub(super) async fn remove(daemon: &Daemon, name: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(false)
        .build();
    match daemon.client.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if super::is_not_found(&e) => Ok(()),
        // "removal of container ... is already in progress": done when it is gone.
        Err(BollardError::DockerResponseServerError {
            status_code: 409, ..
        }) => wait_until_gone(daemon, name).await,
        Err(e) => Err(DockerError::api("cannot remove the container", &e)),
    }
}

/// How long a removal another request started may take to finish.
const REMOVAL_WAIT: Duration = Duration::from_secs(20);

async fn wait_until_gone(daemon: &Daemon, name: &str) -> Result<(), DockerError> {
    let deadline = tokio::time::Instant::now() + REMOVAL_WAIT;
    loop {
        match daemon
            .client
            .inspect_container(
                name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Err(e) if super::is_not_found(&e) => return Ok(()),
            Err(e) => return Err(DockerError::api("cannot inspect the container", &e)),
            Ok(_) if tokio::time::Instant::now() >= deadline => {
                return Err(DockerError::Api(format!(
                    "the container {name} was still being removed after {} s",
                    REMOVAL_WAIT.as_secs()
                )));
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Upload, attach, start, stream and wait. The caller removes the container.
async fn drive(
    daemon: &Daemon,
    spec: &ContainerSpec,
    name: &str,
    options: &RunOptions,
    ui: &Ui,
) -> anyhow::Result<RunOutcome> {
    let client = &daemon.client;

    if let Some(app_dir) = &spec.app_dir {
        ui.status(format!(
            "Sending app directory {} to the build container",
            app_dir.display()
        ));
    }
    if spec.app_dir.is_some() || !spec.platform_env.is_empty() || !spec.files.is_empty() {
        let archive = archive::app_archive(
            spec.app_dir.clone(),
            spec.app_filter.clone(),
            spec.platform_env.clone(),
            spec.files.clone(),
            spec.app_owner,
        );
        // A large app takes a while: say how far it got now and then.
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let archive = archive.inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
        });
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        let upload =
            client.upload_to_container(name, Some(options), bollard::body_try_stream(archive));
        tokio::pin!(upload);
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + UPLOAD_HEARTBEAT,
            UPLOAD_HEARTBEAT,
        );
        let uploaded = loop {
            tokio::select! {
                result = &mut upload => break result,
                _ = ticker.tick() => ui.status(format!(
                    "  still sending: {} so far",
                    indicatif::HumanBytes(sent.load(Ordering::Relaxed))
                )),
            }
        };
        if let Err(e) = uploaded {
            let what = match &spec.app_dir {
                Some(dir) => dir.display().to_string(),
                None => "cnb's files".to_string(),
            };
            return Err(
                DockerError::api(format!("cannot send {what} to the container"), &e).into(),
            );
        }
    }

    // Attach before start so no output is lost.
    let attach = AttachContainerOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .stream(true)
        .build();
    let attached = client
        .attach_container(name, Some(attach))
        .await
        .map_err(|e| DockerError::api("cannot attach to the container", &e))?;
    let mut output = attached.output;
    let pump = tokio::spawn(async move {
        while let Some(chunk) = output.next().await {
            match chunk {
                Ok(LogOutput::StdErr { message }) => {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(&message);
                    let _ = err.flush();
                }
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&message);
                    let _ = out.flush();
                }
                Ok(LogOutput::StdIn { .. }) => {}
                Err(e) => return Err(message(&e)),
            }
        }
        Ok(())
    });

    client
        .start_container(
            name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(|e| DockerError::api("cannot start the container", &e))?;

    // "not-running" answers at once when the container has already exited.
    let wait = WaitContainerOptionsBuilder::default()
        .condition("not-running")
        .build();
    let status = match client.wait_container(name, Some(wait)).next().await {
        Some(Ok(response)) => response.status_code,
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => return Err(DockerError::api("cannot wait for the container", &e).into()),
        None => {
            return Err(DockerError::Api(
                "the daemon ended the wait without an exit status".into(),
            )
            .into());
        }
    };

    // The container has exited; let the rest of its output through.
    match tokio::time::timeout(OUTPUT_DRAIN, pump).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => ui.warn(format!("the container's output was cut short: {e}")),
        Ok(Err(_)) | Err(_) => ui.verbose(1, "stopped waiting for the container's output"),
    }
    let listed = match (&options.list_after, status) {
        (Some(dir), 0) => list(daemon, name, dir).await?,
        _ => Vec::new(),
    };
    Ok(RunOutcome { status, listed })
}

/// The paths of the archive the daemon gives for `dir` of an exited container.
async fn list(daemon: &Daemon, name: &str, dir: &str) -> anyhow::Result<Vec<String>> {
    let options = DownloadFromContainerOptionsBuilder::default()
        .path(dir)
        .build();
    let mut stream = daemon.client.download_from_container(name, Some(options));
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                if bytes.len() as u64 + chunk.len() as u64 > LIST_LIMIT {
                    anyhow::bail!("{dir} in the container holds more than {LIST_LIMIT} bytes");
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(e) if super::is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => {
                return Err(
                    DockerError::api(format!("cannot read {dir} of the container"), &e).into(),
                );
            }
        }
    }
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut paths = Vec::new();
    for entry in archive
        .entries()
        .context("the daemon sent an unreadable archive")?
    {
        let entry = entry.context("the daemon sent an unreadable archive")?;
        paths.push(entry.path()?.to_string_lossy().into_owned());
    }
    Ok(paths)
}
