//! Measures how fast the readers go: writes a CSV of 1,000,000 rows of 16
//! columns (and an .xlsx of 200,000 rows) to a temporary directory, reads
//! each back and prints rows per second.
//!
//! ```text
//! cargo run --release --example read_speed [ROWS] [csv]
//! ```

use std::io::Write;
use std::time::Instant;

use product_import::read::{self, ReadOptions};

fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("read-speed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let csv = dir.join("products.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv)?);
    let headers: Vec<String> = (1..=16).map(|i| format!("column{i}")).collect();
    writeln!(out, "{}", headers.join(";"))?;
    for i in 0..rows {
        writeln!(
            out,
            "Product {i};P-{i};\"Description, with comma\";{}.50;{};7031234567895;Lager A;x;\
             Kategori;stk;Leverandør AS;{i};Navn;12,50;active;default",
            i % 1000,
            i % 97
        )?;
    }
    out.flush()?;
    drop(out);
    let bytes = std::fs::metadata(&csv)?.len();
    measure("csv", &csv, bytes)?;

    if std::env::args().nth(2).as_deref() == Some("csv") {
        std::fs::remove_dir_all(&dir)?;
        return Ok(());
    }
    let xlsx_rows = rows / 5;
    let xlsx = dir.join("products.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, h)?;
    }
    for r in 1..=xlsx_rows as u32 {
        for c in 0..16u16 {
            if c % 2 == 0 {
                sheet.write_string(r, c, format!("text {r}"))?;
            } else {
                sheet.write_number(r, c, f64::from(r) + 0.5)?;
            }
        }
    }
    book.save(&xlsx)?;
    measure("xlsx", &xlsx, std::fs::metadata(&xlsx)?.len())?;

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn measure(what: &str, path: &std::path::Path, bytes: u64) -> anyhow::Result<()> {
    let start = Instant::now();
    let table = read::open(path, &ReadOptions::default())?;
    let mut count = 0u64;
    let mut cells = 0usize;
    for row in table.rows {
        cells += row?.cells.len();
        count += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{what}: {count} rows, {cells} cells, {:.1} MB in {seconds:.2} s: {:.0} rows/s, {:.0} MB/s",
        bytes as f64 / 1e6,
        count as f64 / seconds,
        bytes as f64 / 1e6 / seconds
    );
    Ok(())
}
