//! The pipeline benchmark (issue 5): generates its own data, runs the
//! optimised `product-import` binary as a child process for every
//! measurement and prints tables of figures. It asserts nothing.
//!
//! ```text
//! cargo bench --bench pipeline                          # everything (about 4 minutes on 2 cores)
//! cargo bench --bench pipeline -- csv xlsx              # some sections
//! cargo bench --bench pipeline -- --quick               # small sizes, a smoke run
//! cargo bench --bench pipeline -- pacing --verbose      # also the sandbox's per-second counts
//! ```
//!
//! Sections:
//! - `csv`: `validate` on generated 16-column CSV files; the csv crate's own
//!   read of the same file as a baseline, and each rate's share of it by
//!   elapsed and by CPU time (issue 18).
//! - `xlsx`: `validate` on generated .xlsx files, written two ways: with
//!   inline strings (`product-import generate`, rust_xlsxwriter's constant
//!   memory mode) and with a shared strings table, as Excel and LibreOffice
//!   write them. calamine's own cell-by-cell read of each file is the baseline.
//! - `pacing`: `import` into a sandbox with a rate limit and 50 ms latency,
//!   the client's `--rate` equal to the limit; the achieved rate and the 429s
//!   are counted by the sandbox (server side).
//! - `loopback`: `import` into a sandbox with no limit and no latency: rows
//!   per second end to end and CPU per row, the importer's and the sandbox's.
//! - `requests`: requests per row on a strict sandbox, beside the floor.
//! - `network`: the rate controller against the strict sandbox: a `--rate`
//!   above the limit, faults, a spent budget at start, `--rate auto` against
//!   an unknown and a changing limit; counted by the sandbox, beside the
//!   limit in force and the floor of one request per row.
//!
//! Each child process is started by a small launcher process (this bench
//! again, `__measure`) and reaped with `wait4`, so its CPU time and peak
//! resident memory are its own (see [`measure`] for why not from here). The sandbox runs inside this process (on a
//! tokio runtime of its own), so its CPU time is this process's
//! (`getrusage(RUSAGE_SELF)`) over the run.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use std::num::NonZeroU32;

use product_import_sandbox::{
    self as sandbox, Behaviour, Fault503, FaultSpec, RateSchedule, SandboxConfig, SandboxStats,
};

/// The binary under test, built with the bench (release) profile.
const BIN: &str = env!("CARGO_BIN_EXE_product-import");
/// Seed of the generated data: the same seed writes the same files.
const SEED: u64 = 1;
/// The sandbox's latency in the pacing section.
const PACING_LATENCY: Duration = Duration::from_millis(50);
/// The client's `--rate` in the loopback section (the highest `import` accepts).
const LOOPBACK_RATE: u32 = 10_000;
/// The client's `--concurrency` in the loopback section.
const LOOPBACK_CONCURRENCY: usize = 64;
/// The columns the generator writes as numbers in an .xlsx file.
const NUMERIC_COLUMNS: [&str; 4] = [
    "costPrice",
    "salesPrice",
    "stock.quantity",
    "supplierProduct.price",
];

/// The xlsx section's ratio to calamine at earlier commits (inline / shared
/// strings), printed under its table so that a change to the reading is seen
/// beside what came before. The last two are issue 18's before and after
/// (two runs after), measured on a shared machine under load
/// (docs/performance.md has the rest).
const XLSX_HISTORY: [[&str; 4]; 6] = [
    ["54c25c1", "no size check", "85–92%", "85–92%"],
    [
        "a89756a",
        "size check: each XML part inflated and scanned before calamine",
        "56–61%",
        "56–61%",
    ],
    [
        "7e1ab45",
        "the scanner reads tags in place",
        "70% / 70%",
        "66% / 66%",
    ],
    [
        "0d0be85",
        "the same (issue 18's before)",
        "52% / 53%",
        "60% / (calamine starved)",
    ],
    [
        "3766dcd",
        "parts scanned on a thread as calamine inflates them",
        "107% / 137%; 66% / 66%",
        "63% / 52%; 54% / 71%",
    ],
    [
        "f0b3f95",
        "the same, all of issue 19 merged; a quiet machine (load 0-1.6)",
        "62% / 85%",
        "85% / 87%",
    ],
];

/// A part of the benchmark that can be chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Csv,
    Xlsx,
    Pacing,
    Loopback,
    Requests,
    Network,
}

impl Section {
    const ALL: [Section; 6] = [
        Section::Csv,
        Section::Xlsx,
        Section::Pacing,
        Section::Loopback,
        Section::Requests,
        Section::Network,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Csv => "csv",
            Section::Xlsx => "xlsx",
            Section::Pacing => "pacing",
            Section::Loopback => "loopback",
            Section::Requests => "requests",
            Section::Network => "network",
        }
    }
}

/// One pacing scenario: the sandbox's limit (and the client's rate), the
/// client's concurrency and the rows sent.
#[derive(Debug, Clone, Copy)]
struct PacingCase {
    limit: u32,
    concurrency: usize,
    rows: u64,
}

/// The sizes of one run.
#[derive(Debug, Clone)]
struct Sizes {
    csv: Vec<u64>,
    xlsx: Vec<u64>,
    pacing: Vec<PacingCase>,
    loopback: Vec<u64>,
    requests: u64,
    /// The share of each network case's rows (and so of its seconds) to run.
    network_scale: f64,
}

impl Sizes {
    /// The sizes of the issue's targets: about 15 s of steady state per pacing case.
    fn full() -> Sizes {
        Sizes {
            csv: vec![100_000, 1_000_000],
            xlsx: vec![100_000, 1_000_000],
            pacing: vec![
                PacingCase {
                    limit: 100,
                    concurrency: 16,
                    rows: 1_500,
                },
                PacingCase {
                    limit: 1_000,
                    concurrency: 128,
                    rows: 15_000,
                },
            ],
            loopback: vec![5_000, 20_000],
            requests: 10_000,
            network_scale: 1.0,
        }
    }

    /// Small sizes for a smoke run of a minute or so.
    fn quick() -> Sizes {
        Sizes {
            csv: vec![10_000, 100_000],
            xlsx: vec![10_000, 50_000],
            pacing: vec![
                PacingCase {
                    limit: 100,
                    concurrency: 16,
                    rows: 300,
                },
                PacingCase {
                    limit: 1_000,
                    concurrency: 128,
                    rows: 3_000,
                },
            ],
            loopback: vec![500, 2_000],
            requests: 1_000,
            network_scale: 0.4,
        }
    }
}

/// Command-line options (after `--`).
#[derive(Debug)]
struct Options {
    sections: Vec<Section>,
    quick: bool,
    runs: u32,
    verbose: bool,
}

const USAGE: &str = "usage: cargo bench --bench pipeline -- [csv] [xlsx] [pacing] [loopback] [requests] [network] \
                     [--quick] [--runs N] [--verbose]\n\
                     \n  --quick     small sizes, a smoke run\
                     \n  --runs N    runs of each validate and baseline measurement, best kept (default 3)\
                     \n  --verbose   also print the sandbox's requests per second, second by second";

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options = Options {
            sections: Vec::new(),
            quick: false,
            runs: 3,
            verbose: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // cargo bench passes --bench to every bench target.
                "--bench" => {}
                "--quick" => options.quick = true,
                "--verbose" => options.verbose = true,
                "--runs" => {
                    options.runs = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .with_context(|| format!("--runs needs a number above 0\n{USAGE}"))?;
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => match Section::ALL.iter().find(|s| s.name() == other) {
                    Some(&section) if !options.sections.contains(&section) => {
                        options.sections.push(section)
                    }
                    Some(_) => {}
                    None => bail!("unknown argument {other:?}\n{USAGE}"),
                },
            }
        }
        if options.sections.is_empty() {
            options.sections = Section::ALL.to_vec();
        }
        Ok(options)
    }

    fn runs(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }

    /// The arguments that reproduce this run.
    fn command(&self) -> String {
        let mut command = "cargo bench --bench pipeline".to_owned();
        let all = self.sections.len() == Section::ALL.len();
        let mut extra: Vec<String> = Vec::new();
        if !all {
            extra.extend(self.sections.iter().map(|s| s.name().to_owned()));
        }
        if self.quick {
            extra.push("--quick".into());
        }
        if self.runs != 3 {
            extra.push(format!("--runs {}", self.runs));
        }
        if !extra.is_empty() {
            command.push_str(" -- ");
            command.push_str(&extra.join(" "));
        }
        command
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The launcher and the baselines: this bench, run as a child process.
    match args.first().and_then(|a| a.strip_prefix("__")) {
        Some("measure") => return launch_and_measure(&args[1..]),
        Some(mode) => return baseline_child(mode, &args[1..]),
        None => {}
    }
    let options = Options::parse(&args)?;
    let sizes = if options.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("pipeline-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .context("cannot create the data directory")?;
    let mut bench = Bench {
        dir: dir.path().to_path_buf(),
        options,
        targets: Vec::new(),
    };
    bench.print_header()?;
    if bench.options.runs(Section::Csv) {
        bench.csv(&sizes.csv)?;
    }
    if bench.options.runs(Section::Xlsx) {
        bench.xlsx(&sizes.xlsx)?;
    }
    if bench.options.runs(Section::Pacing)
        || bench.options.runs(Section::Loopback)
        || bench.options.runs(Section::Requests)
        || bench.options.runs(Section::Network)
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the sandbox's runtime")?;
        if bench.options.runs(Section::Pacing) {
            bench.pacing(&runtime, &sizes.pacing)?;
        }
        if bench.options.runs(Section::Loopback) {
            bench.loopback(&runtime, &sizes.loopback)?;
        }
        if bench.options.runs(Section::Requests) {
            bench.requests(&runtime, sizes.requests)?;
        }
        if bench.options.runs(Section::Network) {
            bench.network(&runtime, sizes.network_scale)?;
        }
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
    bench.print_targets();
    println!(
        "\nTotal time {:.0} s, data generation included.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The state of one benchmark run.
struct Bench {
    dir: PathBuf,
    options: Options,
    /// Lines of the closing comparison with the issue's targets.
    targets: Vec<String>,
}

impl Bench {
    fn print_header(&self) -> anyhow::Result<()> {
        println!("# product-import pipeline benchmark\n");
        println!("- Machine: {}", machine());
        println!("- Load average at start: {}", load_average());
        println!("- Commit: {}", commit());
        println!("- Binary: {BIN}");
        println!(
            "- Data: {} (seed {SEED}, removed at the end)",
            self.dir.display()
        );
        println!("- Command: `{}`", self.options.command());
        if self.options.quick {
            println!(
                "- QUICK MODE: sizes are smaller than the issue's; figures are indicative only"
            );
        }
        println!(
            "- Elapsed and CPU are the best of {} run(s) for validate and the baselines; \
             peak RSS is the highest of them",
            self.options.runs
        );
        let floor = measure(&Command::new("true"), &self.dir)?;
        println!(
            "- Peak RSS of a measured `true`, the floor of the method: {:.1} MiB",
            floor.rss_mib()
        );
        Ok(())
    }

    /// Writes `rows` generated rows to `name` in the data directory, unless written already.
    fn generated(&self, name: &str, rows: u64) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(name);
        if path.exists() {
            return Ok(path);
        }
        let started = Instant::now();
        let output = Command::new(BIN)
            .arg("generate")
            .arg(&path)
            .args(["--rows", &rows.to_string(), "--seed", &SEED.to_string()])
            .output()
            .context("cannot run product-import generate")?;
        if !output.status.success() {
            bail!(
                "product-import generate {name} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        note(&format!(
            "generated {name}: {rows} rows, {:.1} MB in {:.1} s",
            megabytes(&path),
            started.elapsed().as_secs_f64()
        ));
        Ok(path)
    }

    /// Runs `validate` on `file` `runs` times; checks that every row was
    /// valid. Each run starts without a results file: one left by the run
    /// before would be replaced, and freeing its pages (177 MB at 1,000,000
    /// rows) would be timed with the run after it, but not with the first.
    fn validate(&self, file: &Path, rows: u64) -> anyhow::Result<Usage> {
        let results = self.dir.join("validate.results.csv");
        let usage = self.best_of(|| {
            std::fs::remove_file(&results).ok();
            let mut command = Command::new(BIN);
            command
                .arg("validate")
                .arg(file)
                .arg("--quiet")
                .arg("--results")
                .arg(&results);
            let usage = measure(&command, &self.dir)?;
            usage.expect_success("validate")?;
            let expected = format!("{rows} read, {rows} valid, 0 invalid");
            if !usage.stdout.contains(&expected) {
                bail!(
                    "validate {}: expected \"{expected}\", got: {}",
                    file.display(),
                    usage.stdout.trim()
                );
            }
            Ok(usage)
        })?;
        std::fs::remove_file(&results).ok();
        Ok(usage)
    }

    /// Runs a baseline reader of this bench in a child process; checks its row count.
    fn baseline(&self, mode: &str, file: &Path, rows: u64) -> anyhow::Result<Usage> {
        self.best_of(|| {
            let mut command = Command::new(std::env::current_exe()?);
            command.arg(format!("__{mode}")).arg(file);
            let usage = measure(&command, &self.dir)?;
            usage.expect_success(mode)?;
            let read: u64 = usage
                .stdout
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .context("baseline printed no row count")?;
            if read != rows {
                bail!("baseline {mode} read {read} data rows, expected {rows}");
            }
            Ok(usage)
        })
    }

    /// The fastest of `runs` measurements, with the highest peak RSS of them.
    fn best_of(&self, mut run: impl FnMut() -> anyhow::Result<Usage>) -> anyhow::Result<Usage> {
        let mut best: Option<Usage> = None;
        let mut peak = 0;
        for _ in 0..self.options.runs {
            let usage = run()?;
            peak = peak.max(usage.max_rss_kib);
            if best.as_ref().is_none_or(|b| usage.elapsed < b.elapsed) {
                best = Some(usage);
            }
        }
        let mut best = best.expect("at least one run");
        best.max_rss_kib = peak;
        Ok(best)
    }

    fn csv(&mut self, sizes: &[u64]) -> anyhow::Result<()> {
        let mut figures = Vec::new();
        for &rows in sizes {
            let file = self.generated(&format!("products-{rows}.csv"), rows)?;
            let usage = self.validate(&file, rows)?;
            figures.push((rows, megabytes(&file), usage));
        }
        let &rows = sizes.last().expect("sizes");
        let file = self.dir.join(format!("products-{rows}.csv"));
        let baseline = self.baseline("csv", &file, rows)?;
        let mut table = Table::new(&[
            "what",
            "rows",
            "MB",
            "elapsed s",
            "rows/s",
            "CPU s",
            "CPU/elapsed",
            "peak RSS MiB",
            "rows/s of baseline",
            "rows per CPU s of baseline",
        ]);
        for (rows, mb, usage) in &figures {
            let mut cells = usage.cells("validate", *rows, *mb);
            cells.extend(csv_ratios(usage, *rows, &baseline, sizes[sizes.len() - 1]));
            table.row(cells);
        }
        let mut cells = baseline.cells("csv crate read (baseline)", rows, megabytes(&file));
        cells.extend(["100%".to_owned(), "100%".to_owned()]);
        table.row(cells);
        println!("\n## validate, CSV (16 columns)\n");
        println!(
            "`product-import validate FILE.csv --quiet --results <tmp>/validate.results.csv`; \
             the baseline reads the same file with the csv crate (ByteRecord loop, one thread). \
             The ratios set our rate against the baseline's in this run, by elapsed time and by \
             CPU time (the latter is steadier on a busy machine).\n"
        );
        table.print();
        let figures: Vec<(u64, Usage)> = figures.into_iter().map(|(r, _, u)| (r, u)).collect();
        self.csv_targets(&figures, &baseline, rows);
        Ok(())
    }

    /// The CSV figures against the issues' targets (issue 5's rate and
    /// memory, issue 18's share of the csv crate's rate).
    fn csv_targets(&mut self, figures: &[(u64, Usage)], baseline: &Usage, baseline_rows: u64) {
        let (small, large) = (&figures[0].1, &figures[figures.len() - 1].1);
        let large_rows = figures[figures.len() - 1].0;
        self.target(format!(
            "CSV validate {}: {:.0} rows/s (target 500,000: {}; stretch 1,000,000: {})",
            rows_label(large_rows),
            large.rows_per_second(large_rows),
            verdict(large.rows_per_second(large_rows) >= 500_000.0),
            verdict(large.rows_per_second(large_rows) >= 1_000_000.0),
        ));
        let growth = large.rss_mib() / small.rss_mib() - 1.0;
        self.target(format!(
            "CSV validate peak RSS: {:.1} MiB at {} and {:.1} MiB at {} ({:+.0}%; target under 64 MiB: {}, \
             within 10%: {}; stretch under 32 MiB: {})",
            small.rss_mib(),
            rows_label(figures[0].0),
            large.rss_mib(),
            rows_label(large_rows),
            growth * 100.0,
            verdict(large.rss_mib() < 64.0 && small.rss_mib() < 64.0),
            verdict(growth.abs() <= 0.10),
            verdict(large.rss_mib() < 32.0 && small.rss_mib() < 32.0),
        ));
        let share = large.rows_per_second(large_rows) / baseline.rows_per_second(baseline_rows);
        let [_, by_cpu] = csv_ratios(large, large_rows, baseline, baseline_rows);
        self.target(format!(
            "CSV validate {}: {:.1}% of the csv crate's rate ({by_cpu} by CPU time; \
             issue 18's target 25% in under 32 MiB: {})",
            rows_label(large_rows),
            share * 100.0,
            verdict(share >= 0.25 && large.rss_mib() < 32.0),
        ));
    }

    fn xlsx(&mut self, sizes: &[u64]) -> anyhow::Result<()> {
        let mut table = Table::new(&[
            "what",
            "strings",
            "rows",
            "MB",
            "elapsed s",
            "rows/s",
            "CPU s",
            "peak RSS MiB",
            "of calamine's rate",
        ]);
        for &rows in sizes {
            let inline = self.generated(&format!("products-{rows}.xlsx"), rows)?;
            let csv = self.generated(&format!("products-{rows}.csv"), rows)?;
            let shared = self.dir.join(format!("products-{rows}-shared.xlsx"));
            write_shared_strings_xlsx(&csv, &shared)?;
            std::fs::remove_file(&csv).ok();
            for (strings, file) in [("inline", &inline), ("shared", &shared)] {
                let mb = megabytes(file);
                let usage = self.validate(file, rows)?;
                let baseline = self.baseline("calamine", file, rows)?;
                let ratio = usage.rows_per_second(rows) / baseline.rows_per_second(rows);
                let mut cells = usage.cells("validate", rows, mb);
                cells.remove(6); // CPU/elapsed
                cells.insert(1, strings.to_owned());
                cells.push(format!("{:.0}%", ratio * 100.0));
                table.row(cells);
                let mut cells = baseline.cells("calamine cells reader (baseline)", rows, mb);
                cells.remove(6);
                cells.insert(1, strings.to_owned());
                cells.push(String::new());
                table.row(cells);
                let met = usage.rows_per_second(rows) >= 100_000.0;
                self.target(format!(
                    "XLSX validate {} ({strings} strings): {:.0} rows/s, {:.1} MiB peak (target 100,000 rows/s: {}; \
                     stretch within 10% of calamine's {:.0} rows/s: {} at {:.0}%)",
                    rows_label(rows),
                    usage.rows_per_second(rows),
                    usage.rss_mib(),
                    verdict(met),
                    baseline.rows_per_second(rows),
                    verdict(ratio >= 0.9),
                    ratio * 100.0
                ));
            }
        }
        println!("\n## validate, XLSX (16 columns)\n");
        println!(
            "`product-import validate FILE.xlsx --quiet --results <tmp>/validate.results.csv`. \
             \"inline\": written by `product-import generate` (rust_xlsxwriter's constant-memory mode, \
             inline strings, no shared strings table); \"shared\": the same rows with a shared strings \
             table, as Excel writes them. The baseline is calamine's `worksheet_cells_reader` over the \
             same file, one thread, counting cells.\n"
        );
        table.print();
        println!(
            "\nThe same ratio (validate's rows/s over calamine's, same run; inline / shared strings) \
             at earlier commits; see docs/performance.md for how loaded the machine was.\n"
        );
        let mut history = Table::new(&["commit", "reading", "100k rows", "1M rows"]);
        for row in XLSX_HISTORY {
            history.row(row.iter().map(|cell| (*cell).to_owned()).collect());
        }
        history.print();
        Ok(())
    }

    fn pacing(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        cases: &[PacingCase],
    ) -> anyhow::Result<()> {
        let mut table = Table::new(&[
            "limit/s",
            "latency",
            "--rate",
            "--concurrency",
            "rows",
            "elapsed s",
            "steady req/s",
            "of limit",
            "min–max /s",
            "overall rows/s",
            "429s",
            "importer peak RSS MiB",
            "requests",
        ]);
        let mut series = String::new();
        for case in cases {
            let config = SandboxConfig {
                rate: Some(case.limit),
                latency: PACING_LATENCY,
                ..SandboxConfig::default()
            };
            let run = self.import(runtime, config, case.rows, case.limit, case.concurrency)?;
            let steady = Steady::of(&run.stats.per_second);
            table.row(vec![
                case.limit.to_string(),
                format!("{} ms", PACING_LATENCY.as_millis()),
                case.limit.to_string(),
                case.concurrency.to_string(),
                case.rows.to_string(),
                format!("{:.2}", run.child.elapsed.as_secs_f64()),
                steady.map_or("n/a".into(), |s| format!("{:.1}", s.mean)),
                steady.map_or("n/a".into(), |s| {
                    format!("{:.1}%", s.mean / f64::from(case.limit) * 100.0)
                }),
                steady.map_or("n/a".into(), |s| format!("{}–{}", s.min, s.max)),
                format!("{:.1}", run.child.rows_per_second(case.rows)),
                run.stats.rate_limited.to_string(),
                format!("{:.1}", run.child.rss_mib()),
                requests_summary(&run.stats),
            ]);
            let _ = writeln!(
                series,
                "- limit {}/s, requests arrived per second: {:?}",
                case.limit, run.stats.per_second
            );
            let fraction = steady.map_or(0.0, |s| s.mean / f64::from(case.limit));
            self.target(format!(
                "Pacing {}/s: {:.1}% of the limit in steady state, {} 429s (target 97% and no 429: {}; stretch 99%: {})",
                case.limit,
                fraction * 100.0,
                run.stats.rate_limited,
                verdict(fraction >= 0.97 && run.stats.rate_limited == 0),
                verdict(fraction >= 0.99 && run.stats.rate_limited == 0),
            ));
        }
        println!("\n## Pacing: import into a rate-limited sandbox\n");
        println!(
            "`product-import import FILE.csv --base-url .. --token-url .. --rate R --concurrency C \
             --existing create --quiet` (so no lookups by number or EAN) against the sandbox in this \
             process: limit R/s (token bucket of R), {} ms latency. Counted by the sandbox: \"steady\" is \
             the mean of whole seconds, leaving out the first and the last second that saw requests; \
             \"requests\" counts every request, the token request and reference lookups included.\n",
            PACING_LATENCY.as_millis()
        );
        table.print();
        if self.options.verbose {
            println!();
            print!("{series}");
        }
        Ok(())
    }

    fn loopback(&mut self, runtime: &tokio::runtime::Runtime, sizes: &[u64]) -> anyhow::Result<()> {
        let mut table = Table::new(&[
            "rows",
            "elapsed s",
            "rows/s",
            "steady req/s",
            "importer CPU µs/row",
            "sandbox CPU µs/row",
            "total CPU µs/row",
            "importer peak RSS MiB",
            "requests",
        ]);
        let mut series = String::new();
        let mut figures = Vec::new();
        for &rows in sizes {
            let run = self.import(
                runtime,
                SandboxConfig::default(),
                rows,
                LOOPBACK_RATE,
                LOOPBACK_CONCURRENCY,
            )?;
            let per_row = |d: Duration| d.as_secs_f64() * 1e6 / rows as f64;
            let steady = Steady::of(&run.stats.per_second);
            table.row(vec![
                rows.to_string(),
                format!("{:.2}", run.child.elapsed.as_secs_f64()),
                format!("{:.0}", run.child.rows_per_second(rows)),
                steady.map_or("n/a".into(), |s| format!("{:.0}", s.mean)),
                format!("{:.0}", per_row(run.child.cpu())),
                format!("{:.0}", per_row(run.sandbox_cpu)),
                format!("{:.0}", per_row(run.child.cpu() + run.sandbox_cpu)),
                format!("{:.1}", run.child.rss_mib()),
                requests_summary(&run.stats),
            ]);
            let _ = writeln!(
                series,
                "- {rows} rows, requests arrived per second: {:?}",
                run.stats.per_second
            );
            figures.push((rows, per_row(run.child.cpu() + run.sandbox_cpu), run.child));
        }
        println!("\n## Loopback ceiling: import into a sandbox with no limit and no latency\n");
        println!(
            "`product-import import FILE.csv --base-url .. --token-url .. --rate {LOOPBACK_RATE} \
             --concurrency {LOOPBACK_CONCURRENCY} --existing create --quiet`; the sandbox runs in this \
             process and its CPU is this process's over the run. rows/s is rows over the importer's \
             whole run (start-up and reading included).\n"
        );
        table.print();
        if self.options.verbose {
            println!();
            print!("{series}");
        }
        let (rows, cpu_per_row, large) = &figures[figures.len() - 1];
        self.target(format!(
            "Loopback {}: {:.0} rows/s end to end, {cpu_per_row:.0} µs CPU per row in all \
             (target 3,000 rows/s: {})",
            rows_label(*rows),
            large.rows_per_second(*rows),
            verdict(large.rows_per_second(*rows) >= 3_000.0)
        ));
        let (small_rows, _, small) = &figures[0];
        let growth = large.rss_mib() / small.rss_mib() - 1.0;
        self.target(format!(
            "Import peak RSS: {:.1} MiB at {} and {:.1} MiB at {} ({:+.0}%; flat within 10%: {})",
            small.rss_mib(),
            rows_label(*small_rows),
            large.rss_mib(),
            rows_label(*rows),
            growth * 100.0,
            verdict(growth.abs() <= 0.10)
        ));
        Ok(())
    }

    /// Requests per row, counted on a strict sandbox (cursor pages of 100 at
    /// most, partial number search, search lag): a fresh import, a re-run
    /// with `--existing skip`, a re-run with `--existing update` with 1% of
    /// the rows changed, each beside its floor.
    fn requests(&mut self, runtime: &tokio::runtime::Runtime, rows: u64) -> anyhow::Result<()> {
        let file = self.generated(&format!("products-{rows}.csv"), rows)?;
        let changed_file = self.dir.join(format!("products-{rows}-changed.csv"));
        let changed = write_with_changed_prices(&file, &changed_file, 100)?;
        let handle = runtime
            .block_on(sandbox::start(SandboxConfig::strict()))
            .context("cannot start the sandbox")?;
        let mut table = Table::new(&[
            "run",
            "rows",
            "created",
            "updated",
            "skipped",
            "catalogue pages",
            "requests",
            "floor",
            "ratio",
            "per row",
            "elapsed s",
            "requests by endpoint",
        ]);
        let runs = [
            ("fresh import", &file, "skip", rows),
            ("re-run, --existing skip", &file, "skip", 0),
            (
                "re-run, --existing update, 1% changed",
                &changed_file,
                "update",
                changed,
            ),
        ];
        for (what, input, existing, writes) in runs {
            // Past the search lag, so the catalogue is complete in listings.
            std::thread::sleep(Duration::from_secs(2));
            let catalogue = handle.product_count() as u64;
            let pages = catalogue.div_ceil(100).max(1);
            let before = handle.stats();
            let results = self.dir.join("requests.results.csv");
            let summary = self.dir.join("requests.summary.json");
            let demo = handle.credentials().clone();
            let mut command = Command::new(BIN);
            command
                .arg("import")
                .arg(input)
                .args(["--base-url", &handle.base_url()])
                .args(["--token-url", &handle.token_url()])
                .args(["--rate", &LOOPBACK_RATE.to_string()])
                .args(["--concurrency", &LOOPBACK_CONCURRENCY.to_string()])
                .args(["--existing", existing, "--quiet", "--results"])
                .arg(&results)
                .arg("--summary-json")
                .arg(&summary)
                .env_remove("TFSO_ACCESS_TOKEN")
                .env("TFSO_CLIENT_ID", &demo.client_id)
                .env("TFSO_CLIENT_SECRET", &demo.client_secret)
                .env("TFSO_ORGANIZATION_ID", &demo.organization_id);
            let child = measure(&command, &self.dir)?;
            child.expect_success(what)?;
            let after = handle.stats();
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&summary)?)?;
            std::fs::remove_file(&results).ok();
            let mut by_endpoint = Vec::new();
            let mut requests = 0;
            for (endpoint, n) in &after.arrived {
                let n = n - before.arrived.get(endpoint).copied().unwrap_or(0);
                if n > 0 && endpoint.contains(" /v1/") {
                    requests += n;
                    by_endpoint.push(format!("{endpoint}: {n}"));
                }
            }
            let floor = writes + pages;
            table.row(vec![
                what.to_owned(),
                rows.to_string(),
                json["created"].to_string(),
                json["updated"].to_string(),
                json["skipped"].to_string(),
                pages.to_string(),
                requests.to_string(),
                floor.to_string(),
                format!("{:.3}", requests as f64 / floor as f64),
                format!("{:.3}", requests as f64 / rows as f64),
                format!("{:.2}", child.elapsed.as_secs_f64()),
                by_endpoint.join(", "),
            ]);
            self.target(format!(
                "Requests, {what} of {}: {requests} for a floor of {floor} ({:.3}×)",
                rows_label(rows),
                requests as f64 / floor as f64
            ));
        }
        runtime.block_on(handle.shutdown());
        println!("\n## Requests per row against a strict sandbox\n");
        println!(
            "`product-import import FILE.csv --existing skip|update --rate {LOOPBACK_RATE} --concurrency \
             {LOOPBACK_CONCURRENCY}` three times into one sandbox with the strict profile (cursor pages of \
             at most 100, partial number search, 1.5 s search lag): a fresh import, a re-run, and a re-run \
             of the same file with the sales price of every 100th row changed. \"requests\" counts what \
             arrived under /v1 (token requests left out); the floor is one request per created or changed \
             row plus the pages of the catalogue as it was before the run.\n"
        );
        table.print();
        Ok(())
    }

    /// The rate controller against the strict sandbox (its limit refuses
    /// with 503 and `Retry-After`, and so may its `error503` faults):
    /// counted by the sandbox, each beside the server's limit and the floor
    /// of one request per row.
    fn network(&mut self, runtime: &tokio::runtime::Runtime, scale: f64) -> anyhow::Result<()> {
        let rows = |n: f64| ((n * scale) as u64).max(100);
        let cases = network_cases(&rows);
        let mut table = Table::new(&[
            "case",
            "limit/s",
            "flags",
            "rows",
            "elapsed s",
            "accepted req/s (steady)",
            "of limit",
            "refused",
            "of requests",
            "rows/s (steady)",
            "requests per row (floor 1.000)",
            "tail s from the last row's first send",
            "tail s from the last send (goal ≤ 2 + settle 5)",
        ]);
        let mut series = String::new();
        let mut steady_rows: Vec<f64> = Vec::new();
        for case in &cases {
            note(&format!("network: {}", case.what));
            let mut flags: Vec<String> = case.flags.iter().map(|f| (*f).to_owned()).collect();
            flags.extend(["--timeout".to_owned(), "5".to_owned()]);
            let config = SandboxConfig {
                rate: Some(case.limit),
                rate_schedule: RateSchedule {
                    changes: case
                        .changes
                        .iter()
                        .map(|&(at, n)| (Duration::from_secs(at), NonZeroU32::new(n)))
                        .collect(),
                    spent_at_start: case.spent,
                },
                latency: Duration::from_millis(case.latency_ms),
                faults: FaultSpec::parse(case.faults)?,
                seed: 7,
                behaviour: Behaviour {
                    fault_503: case.fault_503,
                    ..Behaviour::strict()
                },
                ..SandboxConfig::strict()
            };
            let run = self.import_with(runtime, config, case.rows, &flags)?;
            let figures = NetworkFigures::of(&run.stats, |second| case.limit_at(second));
            steady_rows.push(figures.rows_per_second);
            let requests: u64 = run.stats.per_second.iter().sum();
            let tail = run.tail.map_or(f64::NAN, |t| t.as_secs_f64());
            let tail_last = run.tail_last.map_or(f64::NAN, |t| t.as_secs_f64());
            table.row(vec![
                case.what.to_owned(),
                case.limit_label(),
                case.flags.join(" "),
                case.rows.to_string(),
                format!("{:.1}", run.child.elapsed.as_secs_f64()),
                format!("{:.1}", figures.accepted),
                format!("{:.1}%", figures.of_limit * 100.0),
                run.stats.rate_limited.to_string(),
                format!(
                    "{:.2}%",
                    run.stats.rate_limited as f64 / requests.max(1) as f64 * 100.0
                ),
                format!("{:.1}", figures.rows_per_second),
                format!("{:.3}", requests as f64 / case.rows as f64),
                format!("{tail:.1}"),
                format!("{tail_last:.1}"),
            ]);
            let accepted: Vec<u64> = run
                .stats
                .per_second
                .iter()
                .enumerate()
                .map(|(i, n)| n - run.stats.limited_per_second.get(i).copied().unwrap_or(0))
                .collect();
            let _ = writeln!(
                series,
                "- {}: accepted per second {:?}; refused per second {:?}; answers: {}",
                case.what,
                accepted,
                run.stats.limited_per_second,
                requests_summary(&run.stats)
            );
            let refused_share = run.stats.rate_limited as f64 / requests.max(1) as f64;
            match case.goal {
                Goal::AboveLimit => self.target(format!(
                    "Network, {}: {:.1}% of the limit steady, {:.2}% of requests refused \
                     (target 95% and at most 2%: {})",
                    case.what,
                    figures.of_limit * 100.0,
                    refused_share * 100.0,
                    verdict(figures.of_limit >= 0.95 && refused_share <= 0.02)
                )),
                Goal::OfNoFaults => {
                    let share = figures.rows_per_second / steady_rows[0];
                    self.target(format!(
                        "Network, {}: {:.1} rows/s steady, {:.0}% of the run without faults \
                         (target 85%: {})",
                        case.what,
                        figures.rows_per_second,
                        share * 100.0,
                        verdict(share >= 0.85)
                    ));
                }
                Goal::AtLimit => self.target(format!(
                    "Network, {}: {:.1}% of the limit steady (target 97%: {})",
                    case.what,
                    figures.of_limit * 100.0,
                    verdict(figures.of_limit >= 0.97)
                )),
                Goal::Auto => {
                    let settled = figures.settled_at;
                    self.target(format!(
                        "Network, {}: at 90% of the limit or more from second {} on \
                         (target within 30 s: {}); {:.1}% of the limit steady",
                        case.what,
                        settled.map_or("never".into(), |s| s.to_string()),
                        verdict(settled.is_some_and(|s| s <= 30)),
                        figures.of_limit * 100.0
                    ));
                }
                Goal::Shown => {}
            }
            self.target(format!(
                "Network, {}: the run ended {tail_last:.1} s after the last row was sent, {tail:.1} s after its first send \
                 (target 2 s + settle 5 s: {})",
                case.what,
                verdict(tail_last <= 7.0)
            ));
        }
        println!("\n## Network: the rate controller against a limiting, failing strict sandbox\n");
        println!(
            "`product-import import FILE.csv --existing create --timeout 5 --quiet` plus the flags shown, \
             against the strict sandbox in this process (its limit refuses with 503 and `Retry-After`; \
             `error503` faults carry `Retry-After: 1` unless marked bare; lost answers are `reset` and \
             `ambiguous`). `--timeout 5` makes the settle time 5 s. Counted by the sandbox: \"steady\" \
             is the mean of whole seconds from the third after the first second that created products \
             (the server's burst and the first cut left out) to the one that reached 95% of them, left out; \"of limit\" divides the requests it accepted by the limit in force each \
             second; one tail runs from the last row's first send (the last `POST /v1/products` whose body the \
             server had not seen before: a retry repeats its row's body) to the importer's end, the other \
             from the last `POST /v1/products` of all (a row sent again after its answer was lost and settled \
             is sent last then; a row whose answer is lost twice settles twice).\n"
        );
        table.print();
        println!();
        print!("{series}");
        Ok(())
    }

    /// Starts a sandbox, imports `rows` generated rows into it with the
    /// binary, and stops it.
    fn import(
        &self,
        runtime: &tokio::runtime::Runtime,
        config: SandboxConfig,
        rows: u64,
        rate: u32,
        concurrency: usize,
    ) -> anyhow::Result<ImportRun> {
        let flags = [
            "--rate".to_owned(),
            rate.to_string(),
            "--concurrency".to_owned(),
            concurrency.to_string(),
        ];
        self.import_with(runtime, config, rows, &flags)
    }

    /// [`Bench::import`] with any flags (`--rate`, `--concurrency` and more).
    fn import_with(
        &self,
        runtime: &tokio::runtime::Runtime,
        config: SandboxConfig,
        rows: u64,
        flags: &[String],
    ) -> anyhow::Result<ImportRun> {
        let file = self.generated(&format!("products-{rows}.csv"), rows)?;
        let results = self.dir.join("import.results.csv");
        // The sandbox's clock starts at or just after this: the tail errs
        // long by the time it takes to start.
        let started = Instant::now();
        let handle = runtime
            .block_on(sandbox::start(config))
            .context("cannot start the sandbox")?;
        let demo = handle.credentials().clone();
        let mut command = Command::new(BIN);
        command
            .arg("import")
            .arg(&file)
            .args(["--base-url", &handle.base_url()])
            .args(["--token-url", &handle.token_url()])
            .args(flags)
            .args(["--existing", "create", "--quiet", "--results"])
            .arg(&results)
            .env_remove("TFSO_ACCESS_TOKEN")
            .env("TFSO_CLIENT_ID", &demo.client_id)
            .env("TFSO_CLIENT_SECRET", &demo.client_secret)
            .env("TFSO_ORGANIZATION_ID", &demo.organization_id);
        let before = self_cpu();
        let child = measure(&command, &self.dir);
        let child = child?;
        let ended = Instant::now();
        let sandbox_cpu = self_cpu().saturating_sub(before);
        let stats = handle.stats();
        // From the last row's first send (the last create whose body the
        // server had not seen: a retry repeats its row's body) to the end.
        let tail = stats
            .last_new_body
            .map(|at| ended.saturating_duration_since(started + at));
        // From the last send of any row, a row sent again included.
        let tail_last = stats
            .last_arrived
            .get("POST /v1/products")
            .map(|&at| ended.saturating_duration_since(started + at));
        let created = handle.products().len() as u64;
        runtime.block_on(handle.shutdown());
        std::fs::remove_file(&results).ok();
        child.expect_success("import")?;
        // One product per row: no row lost, none created twice (faults
        // may lose answers, so the 201s are not counted).
        if stats.products_created != rows || created < rows {
            bail!(
                "import of {rows} rows: the sandbox created {} products through POST /v1/products \
                 and holds {created}; importer said: {}",
                stats.products_created,
                child.stdout.trim()
            );
        }
        Ok(ImportRun {
            child,
            sandbox_cpu,
            stats,
            tail,
            tail_last,
        })
    }

    fn target(&mut self, line: String) {
        self.targets.push(line);
    }

    fn print_targets(&self) {
        if self.targets.is_empty() {
            return;
        }
        println!("\n## Against the issue's targets (2-core machine)\n");
        if self.options.quick {
            println!("(quick mode: not the issue's sizes)\n");
        }
        for line in &self.targets {
            println!("- {line}");
        }
    }
}

/// One `import` against a sandbox.
struct ImportRun {
    child: Usage,
    sandbox_cpu: Duration,
    stats: SandboxStats,
    /// From the last row's first `POST /v1/products` to the importer's end.
    tail: Option<Duration>,
    /// From the last `POST /v1/products` of all to the importer's end.
    tail_last: Option<Duration>,
}

/// Copies the CSV `from` to `to` with the `salesPrice` of every `every`-th
/// row raised by 1; returns the number of rows changed.
fn write_with_changed_prices(from: &Path, to: &Path, every: usize) -> anyhow::Result<u64> {
    let mut reader = csv::Reader::from_path(from)?;
    let headers = reader.headers()?.clone();
    let column = headers
        .iter()
        .position(|h| h == "salesPrice")
        .context("no salesPrice column")?;
    let mut writer = csv::Writer::from_path(to)?;
    writer.write_record(&headers)?;
    let mut changed = 0;
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        if i % every == 0 {
            let price: f64 = record[column].parse()?;
            let mut fields: Vec<String> = record.iter().map(str::to_owned).collect();
            fields[column] = format!("{:.2}", price + 1.0);
            writer.write_record(&fields)?;
            changed += 1;
        } else {
            writer.write_record(&record)?;
        }
    }
    writer.flush()?;
    Ok(changed)
}

/// What a network case is measured against.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Goal {
    /// `--rate` above the limit: 95% of it, at most 2% refused.
    AboveLimit,
    /// With faults: 85% of the rows/s of the first case (no faults).
    OfNoFaults,
    /// `--rate` equal to the limit: 97% of it.
    AtLimit,
    /// `--rate auto`: 90% of the limit within 30 s.
    Auto,
    /// Shown, no target.
    Shown,
}

/// One scenario of the network section.
struct NetworkCase {
    what: &'static str,
    limit: u32,
    /// `(second, limit from then on)`.
    changes: Vec<(u64, u32)>,
    spent: bool,
    faults: &'static str,
    fault_503: Fault503,
    latency_ms: u64,
    flags: Vec<&'static str>,
    rows: u64,
    goal: Goal,
}

impl NetworkCase {
    fn limit_at(&self, second: usize) -> f64 {
        let second = second as u64;
        let limit = self
            .changes
            .iter()
            .rev()
            .find(|(at, _)| *at <= second)
            .map_or(self.limit, |(_, n)| *n);
        f64::from(limit)
    }

    fn limit_label(&self) -> String {
        let mut label = self.limit.to_string();
        for (at, n) in &self.changes {
            let _ = write!(label, ", {n} from {at} s");
        }
        if self.spent {
            label.push_str(" (spent at start)");
        }
        label
    }
}

/// The scenarios, with `rows` scaling their sizes.
fn network_cases(rows: &dyn Fn(f64) -> u64) -> Vec<NetworkCase> {
    let faults = "error503=0.02,error500=0.03,reset=0.01,ambiguous=0.01";
    let base = |what, goal, faults, fault_503| NetworkCase {
        what,
        limit: 100,
        changes: Vec::new(),
        spent: false,
        faults,
        fault_503,
        latency_ms: 20,
        flags: vec!["--rate", "150", "--concurrency", "16"],
        rows: rows(1500.0),
        goal,
    };
    vec![
        base(
            "--rate 150 over a limit of 100, no faults",
            Goal::AboveLimit,
            "",
            Fault503::RetryAfter,
        ),
        base(
            "the same, 2% 503 with Retry-After, 3% 500, 2% lost answers",
            Goal::OfNoFaults,
            faults,
            Fault503::RetryAfter,
        ),
        base(
            "the same, 2% bare 503, 3% 500, 2% lost answers",
            Goal::OfNoFaults,
            faults,
            Fault503::Bare,
        ),
        NetworkCase {
            what: "--rate 1000 at a limit of 1000, its budget spent at start",
            limit: 1000,
            spent: true,
            latency_ms: 50,
            flags: vec!["--rate", "1000", "--concurrency", "128"],
            rows: rows(10_000.0),
            goal: Goal::AtLimit,
            ..base("", Goal::Shown, "", Fault503::RetryAfter)
        },
        NetworkCase {
            what: "--rate auto --max-rate 1000, an unknown limit of 200",
            limit: 200,
            flags: vec![
                "--rate",
                "auto",
                "--max-rate",
                "1000",
                "--concurrency",
                "32",
            ],
            rows: rows(8000.0),
            goal: Goal::Auto,
            ..base("", Goal::Shown, "", Fault503::RetryAfter)
        },
        NetworkCase {
            what: "--rate auto --max-rate 1000, a limit of 200, 400 from 15 s, 150 from 30 s",
            limit: 200,
            changes: vec![(15, 400), (30, 150)],
            flags: vec![
                "--rate",
                "auto",
                "--max-rate",
                "1000",
                "--concurrency",
                "32",
            ],
            rows: rows(10_000.0),
            goal: Goal::Shown,
            ..base("", Goal::Shown, "", Fault503::RetryAfter)
        },
        NetworkCase {
            what: "--rate auto --max-rate 150, an unknown limit of 200",
            limit: 200,
            flags: vec!["--rate", "auto", "--max-rate", "150", "--concurrency", "32"],
            rows: rows(3000.0),
            goal: Goal::Shown,
            ..base("", Goal::Shown, "", Fault503::RetryAfter)
        },
    ]
}

/// The figures of one network case, from the sandbox's counts.
struct NetworkFigures {
    /// Requests accepted per second, steady.
    accepted: f64,
    /// Accepted over the limit in force, steady.
    of_limit: f64,
    /// Products created per second, steady.
    rows_per_second: f64,
    /// The first second from which the accepted rate stays at 90% of the
    /// limit or more (by 5-second means).
    settled_at: Option<usize>,
}

impl NetworkFigures {
    fn of(stats: &SandboxStats, limit_at: impl Fn(usize) -> f64) -> NetworkFigures {
        let at = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0) as f64;
        let accepted = |i: usize| at(&stats.per_second, i) - at(&stats.limited_per_second, i);
        let created = &stats.created_per_second;
        // From the first second that created products to the one that
        // reached 95% of them (the rest is the tail: rows settling).
        let first = created.iter().position(|&n| n > 0).unwrap_or(0);
        let total: u64 = created.iter().sum();
        let mut so_far = 0;
        let last = created
            .iter()
            .position(|&n| {
                so_far += n;
                so_far * 20 >= total * 19
            })
            .unwrap_or(0);
        // The first three seconds are the server's burst (a second's worth)
        // and the controller's first cut.
        let window: Vec<usize> = (first + 3..last).collect();
        let n = window.len().max(1) as f64;
        let sum_accepted: f64 = window.iter().map(|&i| accepted(i)).sum();
        let sum_limit: f64 = window.iter().map(|&i| limit_at(i)).sum();
        let mut settled_at = None;
        for start in (first..last.saturating_sub(5)).rev() {
            let mean: f64 = (start..start + 5).map(accepted).sum::<f64>() / 5.0;
            let limit: f64 = (start..start + 5).map(&limit_at).sum::<f64>() / 5.0;
            if mean >= 0.9 * limit {
                settled_at = Some(start);
            } else {
                break;
            }
        }
        NetworkFigures {
            accepted: sum_accepted / n,
            of_limit: sum_accepted / sum_limit.max(1.0),
            rows_per_second: window.iter().map(|&i| at(created, i)).sum::<f64>() / n,
            settled_at,
        }
    }
}

/// Requests per second in the steady state: the whole seconds between the
/// first and the last second that saw requests, both left out.
#[derive(Debug, Clone, Copy)]
struct Steady {
    mean: f64,
    min: u64,
    max: u64,
}

impl Steady {
    fn of(per_second: &[u64]) -> Option<Steady> {
        let first = per_second.iter().position(|&n| n > 0)?;
        let last = per_second.iter().rposition(|&n| n > 0)?;
        let window = per_second.get(first + 1..last).filter(|w| !w.is_empty())?;
        Some(Steady {
            mean: window.iter().sum::<u64>() as f64 / window.len() as f64,
            min: *window.iter().min()?,
            max: *window.iter().max()?,
        })
    }
}

/// The requests the sandbox answered, grouped: products created, the rest.
fn requests_summary(stats: &SandboxStats) -> String {
    let mut parts = Vec::new();
    for ((endpoint, status), n) in &stats.responses {
        parts.push(format!("{endpoint} {status}: {n}"));
    }
    for (endpoint, n) in &stats.dropped {
        parts.push(format!("{endpoint} dropped: {n}"));
    }
    parts.join(", ")
}

/// What a child process used, from `wait4`.
#[derive(Debug, Clone)]
struct Usage {
    elapsed: Duration,
    user: Duration,
    sys: Duration,
    max_rss_kib: u64,
    /// Exit code; `None` when killed by a signal.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Usage {
    fn cpu(&self) -> Duration {
        self.user + self.sys
    }

    fn rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }

    fn rows_per_second(&self, rows: u64) -> f64 {
        rows as f64 / self.elapsed.as_secs_f64()
    }

    fn expect_success(&self, what: &str) -> anyhow::Result<()> {
        if self.code != Some(0) {
            bail!(
                "{what} ended with {:?}\nstdout: {}\nstderr: {}",
                self.code,
                self.stdout.trim(),
                self.stderr.trim()
            );
        }
        Ok(())
    }

    /// Table cells: what, rows, MB, elapsed, rows/s, CPU, CPU/elapsed, peak RSS.
    fn cells(&self, what: &str, rows: u64, mb: f64) -> Vec<String> {
        vec![
            what.to_owned(),
            rows.to_string(),
            format!("{mb:.1}"),
            format!("{:.2}", self.elapsed.as_secs_f64()),
            format!("{:.0}", self.rows_per_second(rows)),
            format!("{:.2}", self.cpu().as_secs_f64()),
            format!(
                "{:.2}",
                self.cpu().as_secs_f64() / self.elapsed.as_secs_f64()
            ),
            format!("{:.1}", self.rss_mib()),
        ]
    }
}

/// The rate of `usage` over `rows` as a share of the baseline's over
/// `baseline_rows`: by elapsed time, and by rows per CPU second.
fn csv_ratios(usage: &Usage, rows: u64, baseline: &Usage, baseline_rows: u64) -> [String; 2] {
    let per_cpu = |u: &Usage, rows: u64| rows as f64 / u.cpu().as_secs_f64();
    [
        format!(
            "{:.1}%",
            100.0 * usage.rows_per_second(rows) / baseline.rows_per_second(baseline_rows)
        ),
        format!(
            "{:.1}%",
            100.0 * per_cpu(usage, rows) / per_cpu(baseline, baseline_rows)
        ),
    ]
}

/// Runs `command` to its end with stdout and stderr in files under `dir`,
/// and measures it.
///
/// The command is started by a fresh launcher process (this bench,
/// `__measure`) rather than by this process: on Linux a child's `ru_maxrss`
/// starts at the peak RSS of the process that spawned it (exec records the
/// old address space's high-water mark), and this process grows (the
/// sandbox, the .xlsx writer). The launcher is small, so what it reports is
/// the command's own peak.
fn measure(command: &Command, dir: &Path) -> anyhow::Result<Usage> {
    let out_path = dir.join("child.stdout");
    let err_path = dir.join("child.stderr");
    let mut launcher = Command::new(std::env::current_exe()?);
    launcher
        .arg("__measure")
        .arg(&out_path)
        .arg(&err_path)
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => launcher.env(key, value),
            None => launcher.env_remove(key),
        };
    }
    let output = launcher
        .output()
        .with_context(|| format!("cannot start {command:?}"))?;
    let report = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<i64> = report
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("measuring {command:?}: launcher said {report:?}"))?;
    let &[elapsed_ns, user_us, sys_us, max_rss_kib, code] = numbers.as_slice() else {
        bail!("measuring {command:?}: launcher said {report:?}");
    };
    let unsigned = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(Usage {
        elapsed: Duration::from_nanos(unsigned(elapsed_ns)),
        user: Duration::from_micros(unsigned(user_us)),
        sys: Duration::from_micros(unsigned(sys_us)),
        max_rss_kib: unsigned(max_rss_kib),
        code: i32::try_from(code).ok().filter(|&c| c >= 0),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    })
}

/// The launcher: `__measure STDOUT STDERR PROGRAM ARGS...` runs the program
/// with its output in the two files, reaps it with `wait4` and prints
/// `elapsed_ns user_us sys_us max_rss_kib exit_code` (-1 for a signal).
fn launch_and_measure(args: &[String]) -> anyhow::Result<()> {
    let [out_path, err_path, program, rest @ ..] = args else {
        bail!("usage: __measure STDOUT STDERR PROGRAM ARGS...");
    };
    let mut command = Command::new(program);
    command
        .args(rest)
        .stdin(Stdio::null())
        .stdout(File::create(out_path)?)
        .stderr(File::create(err_path)?);
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let pid = libc::pid_t::try_from(child.id()).context("process id")?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, for which all zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not reaped yet (std reaps only in
        // `wait`/`try_wait`, which are never called on it); the pointers are
        // to live locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait4");
        }
    }
    let elapsed = started.elapsed();
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    println!(
        "{} {} {} {} {code}",
        elapsed.as_nanos(),
        timeval(usage.ru_utime).as_micros(),
        timeval(usage.ru_stime).as_micros(),
        max_rss_kib(usage.ru_maxrss),
    );
    Ok(())
}

/// `ru_maxrss` in KiB: Linux reports KiB, macOS bytes.
fn max_rss_kib(value: libc::c_long) -> u64 {
    let value = u64::try_from(value).unwrap_or(0);
    if cfg!(target_os = "macos") {
        value / 1024
    } else {
        value
    }
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// This process's CPU time so far, all threads.
fn self_cpu() -> Duration {
    // SAFETY: rusage is plain old data, for which all zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live local.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// Writes the rows of a generated CSV as an .xlsx with a shared strings
/// table (rust_xlsxwriter's low-memory mode), numbers where the generator
/// writes numbers.
fn write_shared_strings_xlsx(csv: &Path, xlsx: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut reader = csv::Reader::from_path(csv)?;
    let headers = reader.headers()?.clone();
    let numeric: Vec<bool> = headers
        .iter()
        .map(|h| NUMERIC_COLUMNS.contains(&h))
        .collect();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_low_memory()?;
    sheet.set_name("Products")?;
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string(0, u16::try_from(col)?, header)?;
    }
    let mut record = csv::StringRecord::new();
    let mut row = 0u32;
    while reader.read_record(&mut record)? {
        row += 1;
        for (col, value) in record.iter().enumerate() {
            let col = u16::try_from(col)?;
            if numeric[usize::from(col)] {
                sheet.write_number(row, col, value.parse::<f64>()?)?;
            } else {
                sheet.write_string(row, col, value)?;
            }
        }
    }
    book.save(xlsx)?;
    note(&format!(
        "wrote {} (shared strings): {row} rows, {:.1} MB in {:.1} s",
        xlsx.file_name().unwrap_or_default().to_string_lossy(),
        megabytes(xlsx),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// The baselines, run as `pipeline __MODE FILE` in a child process; they
/// print the number of data rows (the header row left out) and of cells.
fn baseline_child(mode: &str, args: &[String]) -> anyhow::Result<()> {
    let file = args.first().context("baseline: no file")?;
    let (rows, cells) = match mode {
        "csv" => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_path(file)?;
            let mut record = csv::ByteRecord::new();
            let (mut rows, mut cells) = (0u64, 0u64);
            while reader.read_byte_record(&mut record)? {
                rows += 1;
                cells += record.len() as u64;
            }
            (rows, cells)
        }
        "calamine" => {
            use calamine::{DataRef, Reader as _};
            let mut book: calamine::Xlsx<_> = calamine::open_workbook(file)?;
            let name = book.sheet_names().first().cloned().context("no sheet")?;
            let mut reader = book.worksheet_cells_reader(&name)?;
            let (mut last_row, mut cells, mut bytes) = (0u32, 0u64, 0usize);
            while let Some(cell) = reader.next_cell()? {
                last_row = last_row.max(cell.get_position().0);
                cells += 1;
                match cell.get_value() {
                    DataRef::SharedString(s) => bytes += s.len(),
                    DataRef::String(s) => bytes += s.len(),
                    _ => {}
                }
            }
            std::hint::black_box(bytes);
            // Row 0 is the header row.
            (u64::from(last_row), cells)
        }
        other => bail!("unknown baseline {other:?}"),
    };
    println!("{rows} {cells}");
    Ok(())
}

/// A Markdown table, columns padded to their widest cell.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &[&str]) -> Table {
        Table {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn print(&self) {
        let columns = self.rows[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = (0..columns)
                .map(|c| {
                    let cell = cells.get(c).map_or("", String::as_str);
                    format!("{cell:<width$}", width = widths[c])
                })
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(&self.rows[0]);
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        line(&rule);
        for row in &self.rows[1..] {
            line(row);
        }
    }
}

/// Progress notes go to stderr, so that stdout is only the tables.
fn note(text: &str) {
    eprintln!("[bench] {text}");
}

fn megabytes(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

fn rows_label(rows: u64) -> String {
    match rows {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M rows", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k rows", n / 1_000),
        n => format!("{n} rows"),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// CPUs and model, from the standard library and /proc/cpuinfo.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: u64 = info
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!(", {:.0} GiB RAM", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", Linux {}", k.trim()))
        .unwrap_or_default();
    format!("{cpus} CPUs (nproc), {model}{memory}{kernel}")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The commit the binary was built from, as `git describe` says.
fn commit() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}
