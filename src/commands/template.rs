//! `template`: writes a file a user can fill in: the canonical headers and one
//! example row; for .xlsx also a help sheet and drop-down lists.

use std::path::Path;

use anyhow::Context;
use rust_xlsxwriter::{DataValidation, Format, Workbook};

use super::ExitStatus;
use crate::cli::TemplateArgs;
use crate::mapping::{Field, FieldKind};

/// The template's columns, with an example value each.
pub const TEMPLATE_COLUMNS: [(Field, &str); 21] = [
    (Field::Name, "White shoe laces"),
    (Field::Number, "SH-1001"),
    (Field::Type, "default"),
    (Field::Status, "active"),
    (Field::Description, "Cotton laces, 120 cm"),
    (Field::CostPrice, "12.50"),
    (Field::SalesPrice, "39.90"),
    (Field::IndirectCost, "0"),
    (Field::WebshopEnabled, "yes"),
    (Field::StockIsManaged, "yes"),
    (Field::StockQuantity, "100"),
    (Field::StockLocation, "A-12-3"),
    (Field::Ean, "4006381333931"),
    (Field::EanAlternative, ""),
    (Field::SupplierItemCode, "LACE-120"),
    (Field::SupplierNumber, "SUP-99"),
    (Field::SupplierName, "Laces white 120 cm"),
    (Field::SupplierPrice, "11.00"),
    (Field::Category, "Accessories"),
    (Field::Unit, "stk"),
    (Field::Supplier, ""),
];

/// Runs `template`.
pub fn run(args: &TemplateArgs) -> anyhow::Result<ExitStatus> {
    match crate::read::extension(&args.out).as_str() {
        "xlsx" => write_xlsx(&args.out),
        "csv" => write_csv(&args.out),
        _ => {
            return Err(super::NothingAttempted(anyhow::anyhow!(
                "{}: the template must be .xlsx or .csv",
                args.out.display()
            ))
            .into())
        }
    }
    .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("Wrote {}", args.out.display());
    Ok(ExitStatus::Success)
}

fn write_csv(path: &Path) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(TEMPLATE_COLUMNS.iter().map(|(f, _)| f.path()))?;
    w.write_record(TEMPLATE_COLUMNS.iter().map(|(_, example)| *example))?;
    w.flush()?;
    Ok(())
}

/// What a field accepts, for the help sheet.
fn accepted(field: Field) -> String {
    match field.kind() {
        FieldKind::Text { max } => format!("Text, at most {max} characters."),
        FieldKind::Amount => "A number, not negative.".to_string(),
        FieldKind::Quantity => "A number.".to_string(),
        FieldKind::Bool => "yes/no, ja/nei, true/false, 1/0, x (empty: left out).".to_string(),
        FieldKind::Id => "A positive whole number.".to_string(),
        FieldKind::Reference => "A name or an id.".to_string(),
        FieldKind::ProductType => "default or structure.".to_string(),
        FieldKind::Status => "active or inactive.".to_string(),
        FieldKind::Gtin => "8, 12, 13 or 14 digits with a correct check digit.".to_string(),
        FieldKind::Digits { max } => format!("Digits only, at most {max}."),
    }
}

fn write_xlsx(path: &Path) -> anyhow::Result<()> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Products")?;
        for (col, (field, example)) in TEMPLATE_COLUMNS.iter().enumerate() {
            let col = col as u16;
            sheet.write_string_with_format(0, col, field.path(), &bold)?;
            sheet.set_column_width(col, (field.path().len().max(example.len()) + 2) as f64)?;
            if field.is_code() {
                // Codes stay text, so Excel keeps leading zeros and all digits.
                sheet.set_column_format(col, &text)?;
            }
            match field.kind() {
                FieldKind::Amount | FieldKind::Quantity => {
                    sheet.write_number(1, col, example.parse::<f64>()?)?;
                }
                _ if !example.is_empty() => {
                    sheet.write_string(1, col, *example)?;
                }
                _ => {}
            }
            let choices: &[&str] = match field.kind() {
                FieldKind::ProductType => &["default", "structure"],
                FieldKind::Status => &["active", "inactive"],
                FieldKind::Bool => &["yes", "no"],
                _ => &[],
            };
            if !choices.is_empty() {
                let validation = DataValidation::new().allow_list_strings(choices)?;
                sheet.add_data_validation(1, col, 10_000, col, &validation)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
    }
    let help = workbook.add_worksheet();
    help.set_name("Help")?;
    for (col, h) in ["column", "meaning", "accepted values", "example"]
        .iter()
        .enumerate()
    {
        help.write_string_with_format(0, col as u16, *h, &bold)?;
    }
    for (i, (field, example)) in TEMPLATE_COLUMNS.iter().enumerate() {
        let row = i as u32 + 1;
        help.write_string(row, 0, field.path())?;
        help.write_string(row, 1, field.help())?;
        help.write_string(row, 2, accepted(*field))?;
        help.write_string(row, 3, *example)?;
    }
    let notes = [
        "Required: name, and a category (column category, or category.id).",
        "Empty cells are left out, so Finago Office's defaults apply.",
        "number (else ean) finds a product again when the file is imported twice.",
        "Other column names work too: Varenavn, Varenr, Innpris, Utpris, Strekkode, Kategori, Enhet, ...",
    ];
    for (i, note) in notes.iter().enumerate() {
        help.write_string(TEMPLATE_COLUMNS.len() as u32 + 2 + i as u32, 0, *note)?;
    }
    help.set_column_width(0, 26)?;
    help.set_column_width(1, 70)?;
    help.set_column_width(2, 50)?;
    help.set_column_width(3, 24)?;
    workbook.save(path)?;
    Ok(())
}
