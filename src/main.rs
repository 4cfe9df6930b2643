fn main() -> std::process::ExitCode {
    cnb::app::main()
}

/// The C library's `pow`, defined here so that the executable does not load
/// `libm.so.6` at start for this one function: indicatif's rate estimate and tokio's
/// scheduler statistics are the only users of the math library. Loading it costs
/// every command about 0.1 ms and 10 page faults, a third of what `cnb config ...`
/// needs to read a small file. The `libm` crate is a port of musl's `pow`.
/// `tests/binary.rs` checks that the executable does not link `libm.so`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
