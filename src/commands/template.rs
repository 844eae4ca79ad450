//! `template`: writes a file a user can fill in: the canonical headers and one
//! example row; for .xlsx also a help sheet and drop-down lists.

use std::path::Path;

use anyhow::Context;
use rust_xlsxwriter::{DataValidation, DataValidationRule, Format, Workbook, Worksheet, XlsxError};

use super::ExitStatus;
use crate::cli::TemplateArgs;
use crate::mapping::{template_columns, Field, FieldKind};

/// The rows of the template's Products sheet that carry data validation.
const TEMPLATE_ROWS: u32 = 10_000;

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
    w.write_record(template_columns().map(|(f, _)| f.path()))?;
    w.write_record(template_columns().map(|(_, example)| example))?;
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

/// The limits of a field's values, for the help sheet.
pub(crate) fn limits(field: Field) -> String {
    let required = match field {
        Field::Name => "required; ",
        Field::Category | Field::CategoryId => "required (category or category.id); ",
        _ => "",
    };
    let limit = match field.kind() {
        FieldKind::Text { max } => format!("at most {max} characters"),
        FieldKind::Amount => ">= 0".to_string(),
        FieldKind::Quantity => "any number (may be negative)".to_string(),
        FieldKind::Bool => "yes or no".to_string(),
        FieldKind::Id => "whole number >= 1".to_string(),
        FieldKind::Reference => "at most 250 characters".to_string(),
        FieldKind::ProductType => "default | structure".to_string(),
        FieldKind::Status => "active | inactive".to_string(),
        FieldKind::Gtin => "8, 12, 13 or 14 digits, valid check digit".to_string(),
        FieldKind::Digits { max } => format!("at most {max} digits"),
    };
    format!("{required}{limit}")
}

/// Sets up the column of `field` at `col` on a products sheet: its width,
/// text format for codes (Excel keeps their leading zeros), and the data
/// validation Excel checks as a user types (rows 1 to `last_row`).
pub(crate) fn prepare_column(
    sheet: &mut Worksheet,
    col: u16,
    field: Field,
    width: usize,
    last_row: u32,
) -> Result<(), XlsxError> {
    sheet.set_column_width(col, width.clamp(8, 60) as f64)?;
    if field.is_code() {
        sheet.set_column_format(col, &Format::new().set_num_format("@"))?;
    }
    let validation = match field.kind() {
        FieldKind::ProductType => {
            Some(DataValidation::new().allow_list_strings(&["default", "structure"])?)
        }
        FieldKind::Status => {
            Some(DataValidation::new().allow_list_strings(&["active", "inactive"])?)
        }
        FieldKind::Bool => Some(DataValidation::new().allow_list_strings(&["yes", "no"])?),
        FieldKind::Amount => Some(
            DataValidation::new()
                .allow_decimal_number(DataValidationRule::GreaterThanOrEqualTo(0.0))
                .set_error_title("Not a price")?
                .set_error_message("Enter a number of 0 or more.")?,
        ),
        FieldKind::Quantity => Some(
            DataValidation::new()
                .allow_decimal_number(DataValidationRule::Between(-1e15, 1e15))
                .set_error_title("Not a number")?
                .set_error_message("Enter a number.")?,
        ),
        FieldKind::Text { max } | FieldKind::Digits { max } => Some(
            DataValidation::new()
                .allow_text_length(DataValidationRule::LessThanOrEqualTo(max as u32))
                .set_error_title("Too long")?
                .set_error_message(format!("At most {max} characters."))?,
        ),
        FieldKind::Gtin => Some(
            DataValidation::new()
                .allow_text_length(DataValidationRule::LessThanOrEqualTo(14))
                .set_error_title("Not a barcode")?
                .set_error_message("A barcode has 8, 12, 13 or 14 digits.")?,
        ),
        FieldKind::Id | FieldKind::Reference => None,
    };
    if let Some(v) = validation {
        sheet.add_data_validation(1, col, last_row, col, &v)?;
    }
    Ok(())
}

fn write_xlsx(path: &Path) -> anyhow::Result<()> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Products")?;
        for (col, (field, example)) in template_columns().enumerate() {
            let col = col as u16;
            sheet.write_string_with_format(0, col, field.path(), &bold)?;
            prepare_column(
                sheet,
                col,
                field,
                field.path().len().max(example.len()) + 3,
                TEMPLATE_ROWS,
            )?;
            match field.kind() {
                FieldKind::Amount | FieldKind::Quantity => {
                    sheet.write_number(1, col, example.parse::<f64>()?)?;
                }
                _ if field.is_code() && !example.is_empty() => {
                    sheet.write_string_with_format(1, col, example, &text)?;
                }
                _ if !example.is_empty() => {
                    sheet.write_string(1, col, example)?;
                }
                _ => {}
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, 1, template_columns().count() as u16 - 1)?;
    }
    let help = workbook.add_worksheet();
    help.set_name("Help")?;
    for (col, h) in ["column", "meaning", "accepted values", "limits", "example"]
        .iter()
        .enumerate()
    {
        help.write_string_with_format(0, col as u16, *h, &bold)?;
    }
    for (i, (field, example)) in template_columns().enumerate() {
        let row = i as u32 + 1;
        help.write_string(row, 0, field.path())?;
        help.write_string(row, 1, field.help())?;
        help.write_string(row, 2, accepted(field))?;
        help.write_string(row, 3, limits(field))?;
        help.write_string(row, 4, example)?;
    }
    let notes = [
        "Required: name, and a category (column category, or category.id).",
        "Empty cells are left out of a new product, so Finago Office's defaults apply.",
        "With --existing update, an empty cell clears its field (a price: write 0); leave a column out to keep its field as it is.",
        "number (else ean) finds a product again when the file is imported twice.",
        "Other column names work too: Varenavn, Varenr, Innpris, Utpris, Strekkode, Kategori, Enhet, ...",
    ];
    for (i, note) in notes.iter().enumerate() {
        help.write_string(template_columns().count() as u32 + 2 + i as u32, 0, *note)?;
    }
    help.set_column_width(0, 26)?;
    help.set_column_width(1, 70)?;
    help.set_column_width(2, 50)?;
    help.set_column_width(3, 40)?;
    help.set_column_width(4, 24)?;
    help.set_freeze_panes(1, 0)?;
    workbook.save(path)?;
    Ok(())
}
