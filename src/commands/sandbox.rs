//! `product-import sandbox`: the sandbox crate's server in the foreground,
//! configured from the flags, until Ctrl-C or SIGTERM.

use product_import_sandbox::command;

use crate::cli::SandboxArgs;
use crate::interrupt::interrupted;

/// Runs `product-import sandbox` until Ctrl-C or SIGTERM.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    command::run(config, args.profile, args.data.as_deref(), interrupted()).await
}
