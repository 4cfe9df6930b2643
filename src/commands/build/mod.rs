//! `cnb build` (SPEC §6, §7): settings -> resolution -> images in the daemon -> builder
//! metadata -> the lifecycle's containers -> exit status.
//!
//! The steps, in order:
//! 1. settings resolved once ([`BuildSettings::from_args`]): flag > env > config > default;
//! 2. the Docker daemon (also for `--dry-run`: its architecture picks the platform, and
//!    its copy of the builder may be read);
//! 3. the builder: pulled through mirrors by the pull policy ([`Daemon::fetch`]); with
//!    `--dry-run` nothing is pulled and the builder's config is read from the daemon
//!    when the policy allows using its copy, else from the chosen fetch location with
//!    cnb's registry client ([`images::remote_image_info`]);
//! 4. metadata, trust and the path: the one-container creator for a trusted builder,
//!    the phases in containers of their own for an untrusted one or one whose order has
//!    image extensions; for the phases, the lifecycle image, fetched like the builder;
//! 5. the platform API ([`crate::lifecycle`]);
//! 6. the run image (§6): candidates in order, the first readable one chosen, then
//!    fetched into the daemon in daemon mode;
//! 7. the containers' specs, network and warnings; `--dry-run` stops here with the plan;
//! 8. `--clear-cache`, the run ([`execute`]), and the lifecycle's exit status as cnb's.
//!
//! The pure decisions (metadata, order, trust, the container specs, the plan) live in
//! [`crate::lifecycle`]; this module gathers the facts they need. Stop signals are
//! watched for the whole command ([`Interrupt`]).

mod execute;
mod images;
mod settings;

use std::process::ExitCode;

use anyhow::Context;

pub use execute::exit_status;
pub use images::{CandidateCheck, FetchedImage, remote_image_info, select_run_image};
pub use settings::BuildSettings;

use crate::cli::{BuildArgs, GlobalArgs, OutputFormat};
use crate::docker::{Daemon, stopped};
use crate::interrupt::Interrupt;
use crate::lifecycle::{
    self, BuilderMetadata, CreatorInputs, Execution, PhasesInputs, Plan, PlanFacts,
};
use crate::reference::ImageRef;
use crate::registry::{Platform, Resolver};
use crate::ui::Ui;

/// `cnb build`; with `--local-registry` ([`crate::local_registry`]) only where the image
/// is published changes, and the names for the cluster are printed afterwards.
pub fn run(global: &GlobalArgs, args: BuildArgs, ui: &Ui) -> anyhow::Result<ExitCode> {
    let mut settings = BuildSettings::from_args(global, &args, ui)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        if args.local_registry {
            super::local_registry::publish_there(global, &args, &mut settings, ui).await?;
        }
        let target = settings.local_registry.clone();
        let dry_run = settings.dry_run;
        let result = build(settings, ui).await;
        match (target, result) {
            (Some(target), Ok(code)) if !dry_run => {
                ui.status(format!(
                    "Published {} to the local registry ({})",
                    target.image,
                    target.found.source.describe()
                ));
                for line in target.references() {
                    ui.data(line);
                }
                Ok(code)
            }
            // The KEP asks tools to show the cluster's help when a push to its registry fails.
            (Some(target), Err(err)) => match &target.found.help {
                Some(help) => Err(err.context(format!(
                    "building for the local registry {} failed (if the push failed, see the \
                     cluster's help: {help})",
                    target.found.host.key()
                ))),
                None => Err(err),
            },
            (_, result) => result,
        }
    })
}

/// The lifecycle image when none is configured: the one pack uses for the builder's
/// lifecycle version.
fn default_lifecycle_image(metadata: &BuilderMetadata) -> anyhow::Result<ImageRef> {
    let version = metadata.lifecycle_version.as_deref().with_context(|| {
        format!(
            "the builder {} does not say which lifecycle it has, so cnb cannot choose a \
             lifecycle image for its phases; pass --lifecycle-image <image> or set one with \
             `cnb config lifecycle-image <image>`",
            metadata.builder
        )
    })?;
    Ok(ImageRef::parse(&format!(
        "buildpacksio/lifecycle:{version}"
    ))?)
}

/// Runs `cnb build` with resolved settings. SIGINT, SIGTERM and SIGHUP stop it at any
/// point: the build is dropped, and what it made in the daemon (containers, temporary
/// volumes, images under a mirror's name) is removed before cnb exits 130, 143 or 129.
pub async fn build(settings: BuildSettings, ui: &Ui) -> anyhow::Result<ExitCode> {
    let interrupt = Interrupt::install().context("cannot handle SIGINT, SIGTERM and SIGHUP")?;
    let daemon = tokio::select! {
        daemon = Daemon::connect(settings.docker_host.as_deref()) => daemon?,
        stop = interrupt.wait() => {
            return Err(stopped(stop, "nothing was started".to_string()));
        }
    };
    let mut work = Box::pin(build_with(&daemon, &settings, &interrupt, ui));
    let stop = tokio::select! {
        result = &mut work => return result,
        stop = interrupt.wait() => stop,
    };
    // Dropping the build first ends its requests and removes its temporary files.
    drop(work);
    let report = daemon.clean_up().await;
    Err(stopped(stop, report.describe()))
}

async fn build_with(
    daemon: &Daemon,
    settings: &BuildSettings,
    interrupt: &Interrupt,
    ui: &Ui,
) -> anyhow::Result<ExitCode> {
    let trust = lifecycle::check_trust(
        &settings.builder,
        &settings.config.trusted_builders,
        settings.trust_builder,
    );
    ui.verbose(
        1,
        format!("Builder {}: {}", settings.builder, trust.describe()),
    );

    ui.verbose(1, format!("Docker daemon: {}", daemon.address()));
    let docker_socket = match daemon.socket_path() {
        Some(path) => path.to_string(),
        None if settings.publish => String::new(),
        None => anyhow::bail!(
            "the Docker daemon at {} is not a Unix socket, so the lifecycle cannot be given \
             access to it; use a unix:// --docker-host or build with --publish",
            daemon.address()
        ),
    };
    let docker_api_version = daemon.older_api_version();
    let platform = Platform {
        os: "linux".to_string(),
        architecture: daemon.architecture().await?,
        variant: None,
    };
    // The resolver reports each choice once ("Using mirror ..."), also for images the
    // Docker module then pulls.
    let resolver = Resolver::new(settings.registry.clone(), platform).with_ui(ui.clone());

    // Builder and its metadata.
    let builder = images::fetch_image(
        daemon,
        &resolver,
        &settings.builder,
        "builder",
        settings,
        ui,
    )
    .await?;
    let metadata =
        BuilderMetadata::from_image(&builder.name, &builder.info.labels, &builder.info.env)?;

    // The path: the creator for a trusted builder; the phases otherwise, and for image
    // extensions, which the creator refuses.
    let phases = !trust.is_trusted() || metadata.has_extensions;
    let lifecycle_image = if phases {
        let name = match (&settings.lifecycle_image, &settings.config.lifecycle_image) {
            (Some(flag), _) => flag.clone(),
            (None, Some(configured)) => configured.clone(),
            (None, None) => default_lifecycle_image(&metadata)?,
        };
        let why = if trust.is_trusted() {
            "its order has image extensions, which the creator does not run".to_string()
        } else {
            format!(
                "it is not trusted (trust it with `cnb config trusted-builders add {}` or \
                 --trust-builder to use the creator)",
                metadata.builder
            )
        };
        ui.status(format!(
            "Running the lifecycle's phases in separate containers because the builder {why}; \
             the phases that need registry credentials or the Docker socket run from {name}"
        ));
        let fetched =
            images::fetch_image(daemon, &resolver, &name, "lifecycle image", settings, ui).await?;
        Some(fetched)
    } else {
        None
    };
    let platform_api = match &lifecycle_image {
        Some(image) => match lifecycle::lifecycle_image_platform_apis(&image.info.labels) {
            // Both the builder and the lifecycle image must speak it.
            Some(image_apis) => {
                let common: Vec<lifecycle::ApiVersion> = metadata
                    .platform_apis()
                    .into_iter()
                    .filter(|v| image_apis.contains(v))
                    .collect();
                lifecycle::negotiate_platform_api(
                    &format!(
                        "{} with the lifecycle image {}",
                        metadata.builder, image.name
                    ),
                    &common,
                )?
            }
            None => metadata.negotiate_platform_api()?,
        },
        None => metadata.negotiate_platform_api()?,
    };
    ui.verbose(1, format!("Platform API {platform_api}"));

    // Run image.
    let run = images::run_image(daemon, &resolver, settings, &metadata, ui).await?;

    // What the lifecycle will reach: names resolved, credentials looked up.
    let mirrors = images::chosen_mirrors(run.resolution.iter().chain(builder.resolution.iter()));
    let registries = lifecycle::lifecycle_registries(
        &settings.image,
        &run.chosen,
        &run.fetch,
        settings.publish,
        &mirrors,
    );
    let (resolved, credentials) = images::reach(settings, &registries).await?;
    let inputs = CreatorInputs {
        output: &settings.image,
        builder: &metadata,
        platform_api,
        run_image: &run.chosen,
        run_image_fetch: &run.fetch,
        publish: settings.publish,
        log_level: settings.log_level,
        insecure: &settings.registry.insecure,
        resolved: &resolved,
        chosen_mirrors: &mirrors,
        credentials: &credentials,
        platform_env: settings.platform_env.clone(),
        network: settings.network.as_deref(),
        docker_socket: &docker_socket,
        docker_api_version: docker_api_version.as_deref(),
        run_image_given: settings.run_image.is_some(),
        app_dir: &settings.app_dir,
    };
    let execution = match &lifecycle_image {
        None => Execution::Creator(lifecycle::creator_spec(&inputs)),
        Some(image) => {
            let (layers_volume, app_volume) = execute::temporary_volume_names();
            Execution::Phases(lifecycle::phases_spec(&PhasesInputs {
                common: inputs,
                lifecycle_image: &image.name,
                layers_volume: &layers_volume,
                app_volume: &app_volume,
            }))
        }
    };

    let containers: Vec<(String, &lifecycle::ContainerSpec)> = match &execution {
        Execution::Creator(c) => vec![("creator".to_string(), &c.spec)],
        Execution::Phases(p) => p
            .containers
            .iter()
            .map(|c| (c.phase.to_string(), &c.spec))
            .collect(),
    };
    for (name, spec) in containers {
        ui.verbose(
            2,
            format!(
                "{name} container: {} as {}; env: {:?}; --env files: {:?}",
                spec.command.join(" "),
                spec.user,
                spec.redacted_env(),
                spec.redacted_platform_env()
            ),
        );
    }

    let text_plan = settings.dry_run && settings.output == OutputFormat::Text;
    if !text_plan {
        for warning in metadata.warnings.iter().chain(execution.warnings()) {
            ui.warn(warning);
        }
    }
    if let (Some(network), Some(reason)) = (execution.network(), execution.network_reason()) {
        ui.status(format!("Using --network {network} because {reason}"));
    }

    if settings.dry_run {
        let mut plan = Plan::new(&PlanFacts {
            output: &settings.image,
            builder: &metadata,
            builder_fetch: builder.location(),
            trust: Some(&trust),
            selection: &run.selection,
            run_image_fetch: &run.fetch,
            execution: &execution,
        });
        plan.local_registry = settings.local_registry.as_ref().map(|t| t.plan());
        match settings.output {
            OutputFormat::Json => ui.data(plan.to_json()),
            OutputFormat::Text => ui.data(plan.render_text().trim_end()),
        }
        return Ok(ExitCode::SUCCESS);
    }

    let code = match &execution {
        Execution::Creator(creator) => {
            execute::creator(daemon, creator, settings, interrupt, &builder.name, ui).await?
        }
        Execution::Phases(phases) => {
            execute::phases(daemon, phases, settings, &metadata, interrupt, ui).await?
        }
    };
    exit_status(code)
}
