//! `sigil`: the command line of the Sigil stack. `main` only parses the
//! command line and hands over; each command lives in its own module.

use clap::Parser;

mod cli;
mod data_dir;
mod dev;
mod keygen;
mod token;
mod trust_root;
mod tuf;

/// mimalloc instead of glibc malloc: responses are built from many short-lived
/// allocations, whose slow paths cost ≈ 10 % of a busy server's cycles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Dev(args) => dev::run(args),
        cli::Command::Token(args) => token::run(&args),
        cli::Command::Bench(args) => {
            bench::run(args, bench::LoadDevIssuer(data_dir::load_dev_issuer))
        }
        cli::Command::TrustRoot(args) => trust_root::run(args),
        cli::Command::Keygen(args) => keygen::run(&args),
        cli::Command::Tuf(args) => tuf::run(args),
        cli::Command::Monitor(args) => auditor::monitor::run(args),
        cli::Command::Audit(args) => auditor::audit::run(args),
    }
}
