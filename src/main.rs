fn main() -> std::process::ExitCode {
    cnb::app::main()
}
