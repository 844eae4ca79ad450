//! `generate` (hidden): writes N rows of realistic, deterministic product data
//! as CSV or .xlsx, for benchmarks and rehearsals.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use rust_xlsxwriter::Workbook;

use super::ExitStatus;

pub use crate::cli::GenerateArgs;

/// The generated columns (16).
pub(crate) const COLUMNS: [&str; 16] = [
    "name",
    "number",
    "type",
    "status",
    "description",
    "costPrice",
    "salesPrice",
    "webshopEnabled",
    "stock.isManaged",
    "stock.quantity",
    "stock.location",
    "ean",
    "supplierProduct.itemCode",
    "supplierProduct.price",
    "category",
    "unit",
];

const ADJECTIVES: [&str; 12] = [
    "White", "Black", "Blue", "Oak", "Steel", "Wool", "Leather", "Cotton", "Organic", "Classic",
    "Compact", "Large",
];
const NOUNS: [&str; 12] = [
    "shoe laces",
    "coffee cup",
    "chef knife",
    "socks",
    "cutting board",
    "lamp",
    "backpack",
    "water bottle",
    "scarf",
    "notebook",
    "candle",
    "hammer",
];
const UNITS: [&str; 4] = ["stk", "kg", "m", "l"];

/// SplitMix64: a tiny, well-mixed deterministic generator.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A GTIN-13 with a correct check digit, unique for each `n` below 10^10.
fn gtin13(n: u64) -> String {
    let body = format!("70{:010}", n % 10_000_000_000);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// One generated row.
fn row(random: &mut Random, n: u64) -> [String; 16] {
    let adjective = ADJECTIVES[random.below(12) as usize];
    let noun = NOUNS[random.below(12) as usize];
    let cost = 5.0 + random.below(50_000) as f64 / 100.0;
    let price = cost * (1.5 + random.below(150) as f64 / 100.0);
    [
        format!("{adjective} {noun} {n}"),
        format!("P-{n}"),
        if random.below(20) == 0 {
            "structure"
        } else {
            "default"
        }
        .to_string(),
        if random.below(10) == 0 {
            "inactive"
        } else {
            "active"
        }
        .to_string(),
        format!(
            "{adjective} {noun}, model {}, quality checked",
            random.below(1000)
        ),
        format!("{cost:.2}"),
        format!("{price:.2}"),
        if random.below(2) == 0 { "yes" } else { "no" }.to_string(),
        "yes".to_string(),
        random.below(500).to_string(),
        format!(
            "{}-{:02}-{}",
            (b'A' + random.below(6) as u8) as char,
            random.below(40),
            random.below(9)
        ),
        gtin13(n),
        format!("SUP-{}", random.below(100_000)),
        format!("{:.2}", cost * 0.9),
        (1 + random.below(3)).to_string(),
        UNITS[random.below(4) as usize].to_string(),
    ]
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitStatus> {
    match crate::read::extension(&args.out).as_str() {
        "xlsx" => write_xlsx(&args.out, args),
        _ => write_csv(&args.out, args),
    }
    .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("Wrote {} rows to {}", args.rows, args.out.display());
    Ok(ExitStatus::Success)
}

fn write_csv(path: &Path, args: &GenerateArgs) -> anyhow::Result<()> {
    let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut w = csv::Writer::from_writer(file);
    w.write_record(COLUMNS)?;
    let mut random = Random(args.seed);
    for n in args.start..args.start + args.rows {
        w.write_record(row(&mut random, n))?;
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))?
        .flush()?;
    Ok(())
}

fn write_xlsx(path: &Path, args: &GenerateArgs) -> anyhow::Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("Products")?;
    for (col, h) in COLUMNS.iter().enumerate() {
        sheet.write_string(0, col as u16, *h)?;
    }
    let mut random = Random(args.seed);
    for (i, n) in (args.start..args.start + args.rows).enumerate() {
        let r = i as u32 + 1;
        for (col, value) in row(&mut random, n).iter().enumerate() {
            let col = col as u16;
            match COLUMNS[col as usize] {
                "costPrice" | "salesPrice" | "stock.quantity" | "supplierProduct.price" => {
                    sheet.write_number(r, col, value.parse::<f64>()?)?;
                }
                _ => {
                    sheet.write_string(r, col, value)?;
                }
            }
        }
    }
    workbook.save(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_barcodes_are_valid() {
        for n in [0, 1, 99, 123_456_789] {
            assert!(
                crate::values::check_gtin(&gtin13(n)).is_ok(),
                "{}",
                gtin13(n)
            );
        }
    }

    #[test]
    fn same_seed_same_rows() {
        let a: Vec<_> = (1..5).map(|n| row(&mut Random(7), n)).collect();
        let b: Vec<_> = (1..5).map(|n| row(&mut Random(7), n)).collect();
        assert_eq!(a, b);
    }
}
