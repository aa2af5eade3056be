//! `sigil`: the command line of the Sigil stack. `main` only parses the
//! command line and hands over; each command lives in its own module.

use clap::Parser;

mod cli;
mod data_dir;
mod dev;
mod oidc_issuer;
mod token;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Dev(args) => dev::run(args),
        cli::Command::Token(args) => token::run(&args),
    }
}
