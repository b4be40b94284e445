//! The `portcullis` binary: see the `portcullis_cli` crate docs for the commands.

fn main() -> std::process::ExitCode {
    portcullis_cli::run(std::env::args_os())
}
