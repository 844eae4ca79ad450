//! The `product-import` command: parses arguments, runs the command from the
//! library and maps its outcome to the documented exit code.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use product_import::cli::{ExportArgs, ImportArgs, SandboxArgs, TemplateArgs, ValidateArgs};
use product_import::commands::{self, ExitStatus};

/// Bulk-import products from CSV and spreadsheet files into Finago Office (24SevenOffice).
#[derive(Parser)]
#[command(name = "product-import", version, about, after_help = commands::exit_codes_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a file offline and write the results file; sends nothing.
    Validate(ValidateArgs),
    /// Write a template (.xlsx or .csv) to fill in.
    Template(TemplateArgs),
    /// Send the rows of a file to the API, paced, concurrent and retried.
    Import(Box<ImportArgs>),
    /// Write the organization's products to .xlsx or .csv, to edit and import again.
    Export(Box<ExportArgs>),
    /// Say where a job stands (rows done, unknown, pending; the last runs), from its run store.
    Status(commands::status::StatusArgs),
    /// Serve a local copy of the products API to try imports against.
    Sandbox(SandboxArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command with --dir.
    Man(commands::man::ManArgs),
    /// Write N rows of generated products (for benchmarks).
    #[command(hide = true)]
    Generate(commands::generate::GenerateArgs),
}

fn main() -> ExitCode {
    ignore_file_size_signal();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::NothingAttempted.code()
            } else {
                0
            });
        }
    };
    let outcome = match cli.command {
        Command::Validate(args) => commands::validate::run(&args, &mut std::io::stdout().lock()),
        Command::Template(args) => commands::template::run(&args),
        Command::Sandbox(args) => runtime()
            .and_then(|rt| rt.block_on(commands::sandbox::run(args)))
            .map(|()| ExitStatus::Success),
        Command::Generate(args) => commands::generate::run(&args),
        Command::Import(args) => commands::import::run_blocking(*args),
        Command::Status(args) => commands::status::run(&args, &mut std::io::stdout().lock()),
        Command::Export(args) => commands::export::run_blocking(*args),
        Command::Man(args) => commands::man::run(&args, Cli::command(), &mut std::io::stdout()),
        Command::Completions { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "product-import", &mut out);
            Ok(ExitStatus::Success)
        }
    };
    match outcome {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            product_import::log::fatal(&product_import::log::error_text(&*e));
            // Every error that ends a command early means its run did not
            // complete: nothing (more) was attempted.
            ExitCode::from(ExitStatus::NothingAttempted.code())
        }
    }
}

/// With a file size limit (`ulimit -f`), writing past it raises SIGXFSZ,
/// which would kill the process mid-run; ignored, the write fails with
/// "File too large" and the run stops the way it does on a full disk.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN at start-up, before
    // any thread exists, has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// The async runtime for the commands that talk HTTP.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// mimalloc: rows are allocated on the reading thread and freed on the
/// writing one, which the system allocator handles poorly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
