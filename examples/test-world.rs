//! The test world for scripts: `scripts/demo` and the benchmarks make their builders with
//! the same code as the tests (`tests/support`): the pinned lifecycle and pack built from
//! their Go modules, and a builder made by `pack builder create`; `scripts/setup` builds
//! them (and the local-registry tests' kube-apiserver) ahead of the tests.
//!
//! ```text
//! cargo run --example test-world -- builder <RUN-IMAGE> [--lifecycle 0.21|0.20]
//!     makes a builder whose run image is RUN-IMAGE (tagged in the daemon too) and prints
//!     the builder's local tag; both stay in the daemon
//! cargo run --example test-world -- lifecycle [0.21|0.20]   prints the built lifecycle's directory
//! cargo run --example test-world -- pack                    prints the path of the built pack
//! cargo run --example test-world -- kube-apiserver          prints the path of the built kube-apiserver
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::ExitCode;

use support::{LifecycleVersion, RealBuilder, RealBuilderOptions};

fn version(arg: Option<&str>) -> Result<LifecycleVersion, String> {
    match arg {
        None | Some("0.21") => Ok(LifecycleVersion::V0_21),
        Some("0.20") => Ok(LifecycleVersion::V0_20),
        Some(other) => Err(format!(
            "unknown lifecycle '{other}'; expected 0.21 or 0.20"
        )),
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let missing = || "the test world could not be built (see the message above)".to_string();
    match args.as_slice() {
        ["builder", run_image, rest @ ..] => {
            let lifecycle = match rest {
                [] => version(None)?,
                ["--lifecycle", v] => version(Some(v))?,
                _ => return Err(format!("unexpected arguments: {rest:?}")),
            };
            let options = RealBuilderOptions::new(run_image).lifecycle(lifecycle);
            let made = RealBuilder::create(options).ok_or_else(missing)?;
            let _run = made.run.keep();
            Ok(made.builder.keep())
        }
        ["lifecycle", rest @ ..] => {
            let built = support::world::lifecycle(version(rest.first().copied())?)
                .ok_or_else(missing)?;
            Ok(built.dir.display().to_string())
        }
        ["pack"] => Ok(support::world::pack()
            .ok_or_else(missing)?
            .display()
            .to_string()),
        ["kube-apiserver"] => Ok(support::world::kube_apiserver()
            .ok_or_else(missing)?
            .display()
            .to_string()),
        _ => Err(
            "usage: test-world builder <RUN-IMAGE> [--lifecycle 0.21|0.20] | lifecycle [0.21|0.20] | pack | kube-apiserver"
                .to_string(),
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("test-world: {message}");
            ExitCode::from(2)
        }
    }
}
