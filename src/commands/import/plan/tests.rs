//! The plan's tests: flags, the config file and the environment merged into
//! a plan, bad values refused, and the sample config files valid.

use super::*;
use std::path::PathBuf;

use clap::Parser;

use crate::log::LogFormat;
use crate::pipeline::existing::ExistingMode;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: crate::cli::ImportArgs,
}

fn args(list: &[&str]) -> crate::cli::ImportArgs {
    let mut all = vec!["import"];
    all.extend_from_slice(list);
    Cli::try_parse_from(all).unwrap().args
}

fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn defaults_and_credentials() {
    let plan = ImportPlan::new(&args(&["in.csv"]), &env(&[("TFSO_ACCESS_TOKEN", "tok")])).unwrap();
    assert_eq!(
        plan.pacing.rate,
        Pace::Fixed(NonZeroU32::new(DEFAULT_RATE).unwrap())
    );
    assert_eq!(plan.pacing.concurrency.get(), DEFAULT_CONCURRENCY);
    assert_eq!(plan.pacing.timeout, Duration::from_secs(30));
    assert_eq!(
        plan.pacing.settle,
        Duration::from_secs(30),
        "max(timeout, 5 s)"
    );
    let short = ImportPlan::new(
        &args(&["in.csv", "--timeout", "1"]),
        &env(&[("TFSO_ACCESS_TOKEN", "tok")]),
    )
    .unwrap();
    assert_eq!(short.pacing.settle, Duration::from_secs(5));
    assert_eq!(plan.existing, ExistingMode::Skip);
    assert_eq!(plan.outputs.results, PathBuf::from("in.csv.results.csv"));
    let Connection::Remote {
        base_url,
        credentials,
    } = &plan.connection
    else {
        panic!()
    };
    assert_eq!(base_url.as_str(), DEFAULT_BASE_URL);
    assert!(matches!(**credentials, Credentials::Token(_)));
    assert!(
        !format!("{plan:?}").contains("tok\""),
        "secrets never printed"
    );

    let err = ImportPlan::new(&args(&["in.csv"]), &env(&[])).unwrap_err();
    assert!(matches!(err, PlanError::NoCredentials));
    let sandbox = ImportPlan::new(&args(&["in.csv", "--sandbox"]), &env(&[])).unwrap();
    assert!(matches!(sandbox.connection, Connection::Sandbox));
}

#[test]
fn bad_values_are_refused() {
    let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
    for flags in [
        &["in.csv", "--rate", "0"][..],
        &["in.csv", "--concurrency", "0"],
        &["in.csv", "--timeout=-1"],
        &["in.csv", "--settle=-1"],
        &["in.csv", "--base-url", "http://api.example.com/v1"],
        &["in.csv", "--base-url", "ftp://127.0.0.1/v1"],
        &["in.csv", "--token-url", "not a url"],
    ] {
        assert!(ImportPlan::new(&args(flags), e).is_err(), "{flags:?}");
    }
    for ok in [
        "http://127.0.0.1:8080/v1",
        "http://localhost/v1",
        "http://[::1]:9/v1",
        "https://api.example.com/v1",
    ] {
        assert!(checked_url("--base-url", ok).is_ok(), "{ok}");
    }
}

#[test]
fn a_feed_url_is_checked_and_names_the_outputs() {
    let e = &env(&[("TFSO_ACCESS_TOKEN", "tok"), ("FEED_PASSWORD", "pw")]);
    let plan = ImportPlan::new(
        &args(&["https://user:hunter2@feeds.example.com/nightly/products.csv?k=1"]),
        e,
    )
    .unwrap();
    let feed = plan.feed.as_ref().unwrap();
    assert_eq!(
        plan.outputs.results,
        PathBuf::from("products.csv.results.csv")
    );
    assert_eq!(feed.stem, PathBuf::from("products.csv.results.csv.feed"));
    assert_eq!(feed.max_bytes, 512_000_000);
    assert_eq!(
        plan.outputs.store,
        PathBuf::from("products.csv.results.csv.job.sqlite")
    );
    assert!(!format!("{plan:?}").contains("hunter2"), "{plan:?}");

    let err = ImportPlan::new(&args(&["http://feeds.example.com/p.csv"]), e).unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
    let dry = ImportPlan::new(
        &args(&[
            "http://127.0.0.1:9/p.csv",
            "--dry-run",
            "--results",
            "r.csv",
        ]),
        e,
    )
    .unwrap();
    assert_eq!(dry.outputs.results, PathBuf::from("r.dry-run.csv"));
    assert_eq!(
        dry.outputs.store,
        PathBuf::from("r.csv.job.sqlite"),
        "a dry run reads the real job's store"
    );
    let named = ImportPlan::new(
        &args(&["https://x.test/f.csv", "--feed-auth-env", "NOPE"]),
        e,
    )
    .unwrap_err();
    assert!(named.to_string().contains("NOPE"), "{named}");
}

#[test]
fn guards_and_missing_options() {
    let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
    let plan = ImportPlan::new(
        &args(&[
            "in.csv",
            "--min-rows=10",
            "--max-invalid=5%",
            "--missing=deactivate",
            "--scope-category=3,4",
            "--scope-category=7",
        ]),
        e,
    )
    .unwrap();
    assert_eq!(plan.guards.min_rows, Some(10));
    assert_eq!(
        plan.guards.max_invalid,
        Some(crate::feed::Threshold::Percent(5.0))
    );
    let missing = plan.missing.unwrap();
    assert_eq!(missing.categories, [3, 4, 7]);
    assert_eq!(missing.max_missing, DEFAULT_MAX_MISSING);
    for flags in [
        &["in.csv", "--scope-number-prefix", "A-"][..],
        &["in.csv", "--max-missing", "3"],
        &["in.csv", "--missing=report", "--scope-category=0"],
        &["in.csv", "--max-download-mb=0"],
    ] {
        assert!(ImportPlan::new(&args(flags), e).is_err(), "{flags:?}");
    }
    assert!(Cli::try_parse_from(["import", "in.csv", "--max-invalid", "lots"]).is_err());
}

#[test]
fn the_sample_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/import.toml");
    let config = ConfigFile::load(&path).unwrap();
    assert_eq!(config.pacing.rate, Some(RateArg::PerSecond(DEFAULT_RATE)));
    assert_eq!(config.rows.existing, Some(ExistingMode::Skip));
}

#[test]
fn the_nightly_sample_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/nightly/nightly.toml");
    let cfg = path.to_str().unwrap();
    let e = &env(&[
        ("TFSO_ACCESS_TOKEN", "tok"),
        ("SUPPLIER_FEED_TOKEN", "Bearer x"),
    ]);
    let plan = ImportPlan::new(
        &args(&[
            "https://feeds.example.com/export/products.csv",
            "--config",
            cfg,
        ]),
        e,
    )
    .unwrap();
    assert!(plan.if_changed);
    assert_eq!(plan.log_format, LogFormat::Json);
    assert_eq!(plan.guards.min_rows, Some(1000));
    assert_eq!(
        plan.guards.max_invalid,
        Some(crate::feed::Threshold::Percent(2.0))
    );
    let missing = plan.missing.unwrap();
    assert_eq!(missing.mode, crate::feed::missing::MissingMode::Deactivate);
    assert_eq!(missing.max_missing, crate::feed::Threshold::Percent(5.0));
    assert!(matches!(
        plan.feed.unwrap().source.auth,
        Some(FeedAuth::Header(_))
    ));
}

#[test]
fn config_file_with_flags_overriding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.toml");
    std::fs::write(
        &path,
        "base_url = \"http://127.0.0.1:9/v1\"\nrate = 3\nconcurrency = 2\nexisting = \"update\"\n\
         create_categories = true\nresults = \"out/results.jsonl\"\nmapping = \"map.toml\"\ndecimal = \"comma\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("map.toml"), "ignore = []\n").unwrap();
    let cfg = path.to_str().unwrap();
    let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
    let plan = ImportPlan::new(&args(&["in.csv", "--config", cfg, "--rate", "7"]), e).unwrap();
    assert_eq!(plan.pacing.rate, Pace::Fixed(NonZeroU32::new(7).unwrap()));
    assert_eq!(plan.pacing.concurrency.get(), 2);
    assert_eq!(plan.existing, ExistingMode::Update);
    assert!(plan.create_categories);
    assert_eq!(plan.outputs.results, dir.path().join("out/results.jsonl"));
    assert_eq!(
        plan.input.mapping.as_ref().map(|(p, _)| p.clone()),
        Some(dir.path().join("map.toml"))
    );
    assert_eq!(
        plan.input.validate.decimal,
        Some(crate::values::DecimalMark::Comma)
    );

    std::fs::write(&path, "rate = 3\nclient_secret = \"x\"\n").unwrap();
    let err = ImportPlan::new(&args(&["in.csv", "--config", cfg]), e)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown field") && err.contains("client_secret"),
        "{err}"
    );
}

#[test]
fn rate_auto_with_its_ceiling() {
    let e = &env(&[("TFSO_ACCESS_TOKEN", "tok")]);
    let nz = |n| NonZeroU32::new(n).unwrap();
    let plan = ImportPlan::new(&args(&["in.csv", "--rate", "auto"]), e).unwrap();
    assert_eq!(
        plan.pacing.rate,
        Pace::Auto {
            max: nz(DEFAULT_MAX_RATE)
        }
    );
    let plan = ImportPlan::new(&args(&["in.csv", "--rate=auto", "--max-rate=300"]), e).unwrap();
    assert_eq!(plan.pacing.rate, Pace::Auto { max: nz(300) });
    for flags in [
        &["in.csv", "--rate=5", "--max-rate=300"][..],
        &["in.csv", "--rate=auto", "--max-rate=0"],
        &["in.csv", "--rate=auto", "--max-rate=20000"],
    ] {
        assert!(ImportPlan::new(&args(flags), e).is_err(), "{flags:?}");
    }
    assert!(Cli::try_parse_from(["import", "in.csv", "--rate", "fast"]).is_err());
}
