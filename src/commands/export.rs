//! `export`: writes the organization's products to .xlsx or .csv in the
//! template's columns and the importer's canonical headers, so that the file
//! can be edited and imported again with `--existing update`: export, edit,
//! import. Re-importing an unedited export changes nothing.
//!
//! Categories and units are written by name when the name leads back to the
//! same record (the importer resolves names the same way), else by id;
//! barcodes and other codes are text, prices and quantities numbers.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::import::{connection, pacing, Pacing, PlanError};
use super::template::{prepare_column, TEMPLATE_COLUMNS};
use super::{ExitStatus, NothingAttempted};
use crate::api::types::{Category, Product, ProductStatus, ProductType, Unit};
use crate::cell::format_number;
use crate::cell::neutralize_formula;
use crate::cli::ExportArgs;
use crate::client::connect::{connect, Connected, Connection};
use crate::client::pacing::Pacer;
use crate::client::paging::{all_pages, PageGuard};
use crate::client::{ApiError, ProductApi, ProductQuery, RequestCounters};
use crate::mapping::Field;
use crate::pipeline::retry::{retry_idempotent, RetryPolicy};

/// A column of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportColumn {
    /// The product's id (the importer leaves it unused).
    Id,
    /// A field, under its canonical header.
    Field(Field),
}

impl ExportColumn {
    /// The header written.
    pub fn header(self) -> &'static str {
        match self {
            ExportColumn::Id => "id",
            ExportColumn::Field(f) => f.path(),
        }
    }

    /// Every column, in the order written: the id, then the template's.
    pub fn all() -> Vec<ExportColumn> {
        std::iter::once(ExportColumn::Id)
            .chain(
                TEMPLATE_COLUMNS
                    .iter()
                    .map(|(f, _)| ExportColumn::Field(*f)),
            )
            .collect()
    }

    /// Written whatever `--columns` says: what finds a product again and
    /// what every imported row needs.
    fn required(self) -> bool {
        matches!(
            self,
            ExportColumn::Id
                | ExportColumn::Field(Field::Name)
                | ExportColumn::Field(Field::Number)
                | ExportColumn::Field(Field::Category)
        )
    }
}

/// The validated plan of an export.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    out: PathBuf,
    xlsx: bool,
    columns: Vec<ExportColumn>,
    categories: Vec<String>,
    connection: Connection,
    pacing: Pacing,
    quiet: bool,
}

impl ExportPlan {
    /// Checks the flags and reads credentials through `env`.
    pub fn new(
        args: &ExportArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ExportPlan, PlanError> {
        let xlsx = match crate::read::extension(&args.out).as_str() {
            "xlsx" => true,
            "csv" => false,
            _ => {
                return Err(PlanError::BadValue(format!(
                    "{}: the export must be .xlsx or .csv",
                    args.out.display()
                )))
            }
        };
        let all = ExportColumn::all();
        let columns = if args.columns.is_empty() {
            all
        } else {
            let mut wanted = Vec::new();
            for name in &args.columns {
                let name = name.trim();
                let column = all
                    .iter()
                    .copied()
                    .find(|c| c.header().eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        PlanError::BadValue(format!(
                            "--columns: no column \"{name}\"; the columns are {}",
                            all.iter()
                                .map(|c| c.header())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                wanted.push(column);
            }
            all.into_iter()
                .filter(|c| c.required() || wanted.contains(c))
                .collect()
        };
        Ok(ExportPlan {
            out: args.out.clone(),
            xlsx,
            columns,
            categories: args
                .category
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            connection: connection(args.sandbox, &args.api, env)?,
            pacing: pacing(args.pacing.clone(), Some(1))?,
            quiet: args.quiet,
        })
    }
}

fn nothing(e: impl Into<anyhow::Error>) -> anyhow::Error {
    NothingAttempted(e.into()).into()
}

/// Runs `export` with the process environment, on a runtime of its own.
pub fn run_blocking(args: ExportArgs) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let status = runtime.block_on(run_with_env(args, &|k| std::env::var(k).ok()));
    runtime.shutdown_timeout(Duration::from_secs(1));
    status
}

/// Runs `export`, reading credentials through `env`. Errors before the file
/// is written mean nothing was attempted (exit 2).
pub async fn run_with_env(
    args: ExportArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let plan = ExportPlan::new(&args, env).map_err(nothing)?;
    let pacer = Arc::new(Pacer::new(plan.pacing.rate));
    let counters = Arc::new(RequestCounters::default());
    let Connected {
        api,
        base_url,
        sandbox,
    } = connect(
        &plan.connection,
        plan.pacing.timeout,
        pacer,
        counters.clone(),
    )
    .await
    .map_err(nothing)?;
    let policy = RetryPolicy::new(plan.pacing.max_retries);
    let outcome = export(&api, &plan, &policy, &counters).await;
    if let Some(handle) = sandbox {
        handle.shutdown().await;
    }
    let report = outcome?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Exported {} products from {base_url} to {} ({} pages, {} requests, {:.1} s)",
        report.products,
        plan.out.display(),
        report.pages,
        RequestCounters::get(&counters.requests),
        started.elapsed().as_secs_f64()
    );
    if report.without_key > 0 {
        eprintln!(
            "warning: {} products have neither a number nor an EAN: importing the file again \
             cannot find them, and would create them anew. Give them a number first.",
            report.without_key
        );
    }
    Ok(ExitStatus::Success)
}

/// What an export did.
#[derive(Debug, Default)]
struct ExportReport {
    products: u64,
    pages: u32,
    without_key: u64,
}

async fn export<A: ProductApi>(
    api: &A,
    plan: &ExportPlan,
    policy: &RetryPolicy,
    counters: &RequestCounters,
) -> anyhow::Result<ExportReport> {
    let categories = all_pages(
        PageGuard::new("GET /productcategories"),
        |cursor| async move {
            retry_idempotent(policy, counters, || api.list_categories(cursor.as_ref())).await
        },
    )
    .await
    .map_err(|e| nothing(anyhow::anyhow!("cannot read the categories: {e}")))?;
    let wants = |f: Field| plan.columns.contains(&ExportColumn::Field(f));
    let units = if wants(Field::Unit) {
        all_pages(PageGuard::new("GET /productunits"), |cursor| async move {
            retry_idempotent(policy, counters, || api.list_units(cursor.as_ref())).await
        })
        .await
        .map_err(|e| nothing(anyhow::anyhow!("cannot read the units: {e}")))?
    } else {
        Vec::new()
    };
    let names = Names::new(&categories, &units);
    let only: Option<HashSet<i64>> = if plan.categories.is_empty() {
        None
    } else {
        Some(
            plan.categories
                .iter()
                .map(|c| names.category_id(c))
                .collect::<Result<_, _>>()
                .map_err(nothing)?,
        )
    };

    let mut writer = ExportWriter::create(&plan.out, plan.xlsx, &plan.columns)
        .with_context(|| format!("cannot write {}", plan.out.display()))
        .map_err(nothing)?;
    let bar = progress_bar(plan.quiet);
    let mut report = ExportReport::default();
    let mut seen = HashSet::new();
    let pages = each_product_page(api, policy, counters, |page| {
        for p in page {
            // A listing that shifts while it is read can show a product twice.
            if !seen.insert(p.id) {
                continue;
            }
            let category = p.category.as_ref().and_then(|c| c.id);
            if let Some(only) = &only {
                if !category.is_some_and(|c| only.contains(&c)) {
                    continue;
                }
            }
            let cells: Vec<Value> = plan.columns.iter().map(|c| value(&p, *c, &names)).collect();
            writer.write(&cells)?;
            report.products += 1;
            if p.number.as_deref().is_none_or(str::is_empty)
                && p.ean.as_deref().is_none_or(str::is_empty)
            {
                report.without_key += 1;
            }
            bar.inc(1);
        }
        Ok(())
    })
    .await;
    bar.finish_and_clear();
    report.pages = match pages {
        Ok(pages) => pages,
        Err(e) => {
            // What was written is incomplete: do not leave it looking whole.
            drop(writer);
            let _ = std::fs::remove_file(&plan.out);
            return Err(e.context("the export stopped; no file was written"));
        }
    };
    writer
        .finish()
        .with_context(|| format!("cannot write {}", plan.out.display()))?;
    Ok(report)
}

/// Reads every page of `GET /products` (paced, retried, following the
/// server's `link` cursors under a [`PageGuard`]), handing each to `each`,
/// and returns the number of pages read.
async fn each_product_page<A: ProductApi>(
    api: &A,
    policy: &RetryPolicy,
    counters: &RequestCounters,
    mut each: impl FnMut(Vec<Product>) -> anyhow::Result<()>,
) -> anyhow::Result<u32> {
    let mut guard = PageGuard::new("GET /products");
    let mut cursor = None;
    loop {
        let page = retry_idempotent(policy, counters, || {
            api.list_products(&ProductQuery::All, cursor.as_ref())
        })
        .await
        .map_err(|e: ApiError| {
            anyhow::anyhow!(
                "cannot read page {} of the products: {e}",
                guard.pages() + 1
            )
        })?;
        let Some((items, next)) = guard.accept(page)? else {
            return Ok(guard.pages());
        };
        each(items)?;
        match next {
            None => return Ok(guard.pages()),
            next => cursor = next,
        }
    }
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {pos} products ({per_sec})")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Lower-cased and trimmed, as the importer compares names.
fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Names of categories and units, written only when they lead back to the
/// same record: the importer resolves a name to the first record with it,
/// and takes digits for an id.
struct Names {
    categories: HashMap<String, i64>,
    category_names: HashMap<i64, String>,
    units: HashMap<String, i64>,
}

impl Names {
    fn new(categories: &[Category], units: &[Unit]) -> Names {
        let mut by_name = HashMap::new();
        let mut category_names = HashMap::new();
        for c in categories {
            if let Some(n) = &c.name {
                by_name.entry(fold(n)).or_insert(c.id);
                category_names.insert(c.id, n.clone());
            }
        }
        let mut unit_names = HashMap::new();
        for u in units {
            let Some(id) = u.id else { continue };
            for n in [&u.symbol, &u.name].into_iter().flatten() {
                unit_names.entry(fold(n)).or_insert(id);
            }
        }
        Names {
            categories: by_name,
            category_names,
            units: unit_names,
        }
    }

    /// The id of a `--category` given by name or id.
    fn category_id(&self, given: &str) -> anyhow::Result<i64> {
        if let Ok(id) = given.parse::<i64>() {
            return Ok(id);
        }
        self.categories
            .get(&fold(given))
            .copied()
            .ok_or_else(|| anyhow::anyhow!("--category: no category \"{given}\""))
    }

    /// How to write a reference: its name when that resolves to `id`, else the id.
    fn reference(
        index: &HashMap<String, i64>,
        id: Option<i64>,
        names: &[Option<&str>],
    ) -> Option<Value> {
        for name in names.iter().flatten() {
            let is_digits = name.trim().bytes().all(|b| b.is_ascii_digit());
            if !is_digits && id.is_some_and(|id| index.get(&fold(name)) == Some(&id)) {
                return Some(Value::Text(name.to_string()));
            }
        }
        id.map(|id| Value::Number(id as f64))
    }
}

/// One cell of the export.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Empty,
    Text(String),
    Number(f64),
}

fn text(s: &Option<String>) -> Value {
    match s.as_deref() {
        Some(s) if !s.is_empty() => Value::Text(s.to_string()),
        _ => Value::Empty,
    }
}

fn number(n: Option<f64>) -> Value {
    n.filter(|n| n.is_finite())
        .map_or(Value::Empty, Value::Number)
}

fn yes_no(b: Option<bool>) -> Value {
    b.map_or(Value::Empty, |b| {
        Value::Text(if b { "yes" } else { "no" }.to_string())
    })
}

/// The cell of `column` for product `p`.
fn value(p: &Product, column: ExportColumn, names: &Names) -> Value {
    let field = match column {
        ExportColumn::Id => return Value::Number(p.id as f64),
        ExportColumn::Field(f) => f,
    };
    let stock = p.stock.clone().unwrap_or_default();
    let supplier_product = p.supplier_product.clone().unwrap_or_default();
    match field {
        Field::Name => text(&p.name),
        Field::Number => text(&p.number),
        Field::Type => p.product_type.map_or(Value::Empty, |t| {
            Value::Text(
                match t {
                    ProductType::Default => "default",
                    ProductType::Structure => "structure",
                }
                .into(),
            )
        }),
        Field::Status => p.status.map_or(Value::Empty, |s| {
            Value::Text(
                match s {
                    ProductStatus::Active => "active",
                    ProductStatus::Inactive => "inactive",
                }
                .into(),
            )
        }),
        Field::Description => text(&p.description),
        Field::CostPrice => number(p.cost_price),
        Field::SalesPrice => number(p.sales_price),
        Field::IndirectCost => number(p.indirect_cost),
        Field::WebshopEnabled => yes_no(p.webshop_enabled),
        Field::StockIsManaged => yes_no(stock.is_managed),
        Field::StockQuantity => number(stock.quantity),
        Field::StockLocation => text(&stock.location),
        Field::Ean => text(&p.ean),
        Field::EanAlternative => text(&p.ean_alternative),
        Field::SupplierItemCode => text(&supplier_product.item_code),
        Field::SupplierNumber => text(&supplier_product.number),
        Field::SupplierName => text(&supplier_product.name),
        Field::SupplierPrice => number(supplier_product.price),
        Field::Category => {
            let id = p.category.as_ref().and_then(|c| c.id);
            let listed = id
                .and_then(|id| names.category_names.get(&id))
                .map(String::as_str);
            let given = p.category.as_ref().and_then(|c| c.name.as_deref());
            Names::reference(&names.categories, id, &[given, listed]).unwrap_or(Value::Empty)
        }
        Field::Unit => {
            let u = p.units.clone().unwrap_or_default();
            Names::reference(
                &names.units,
                u.id,
                &[u.name.as_deref(), u.symbol.as_deref()],
            )
            .unwrap_or(Value::Empty)
        }
        // The importer looks suppliers up by name or organization number.
        Field::Supplier => p
            .supplier
            .as_ref()
            .and_then(|s| s.name.clone())
            .map_or(Value::Empty, Value::Text),
        Field::UnitsId => number(p.units.as_ref().and_then(|u| u.id).map(|i| i as f64)),
        Field::CategoryId => number(p.category.as_ref().and_then(|c| c.id).map(|i| i as f64)),
        Field::SupplierId => number(p.supplier.as_ref().and_then(|s| s.id).map(|i| i as f64)),
    }
}

/// Writes the export as .xlsx (streaming) or CSV.
enum ExportWriter {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Xlsx(Box<XlsxExport>),
}

struct XlsxExport {
    path: PathBuf,
    workbook: Workbook,
    text: Format,
    widths: Vec<usize>,
    columns: Vec<ExportColumn>,
    row: u32,
}

/// Rows of an .xlsx export whose cells carry data validation.
const VALIDATED_ROWS: u32 = 100_000;

impl ExportWriter {
    fn create(path: &Path, xlsx: bool, columns: &[ExportColumn]) -> anyhow::Result<ExportWriter> {
        if !xlsx {
            let mut file = BufWriter::new(File::create(path)?);
            file.write_all("\u{FEFF}".as_bytes())?;
            let mut w = csv::Writer::from_writer(file);
            w.write_record(columns.iter().map(|c| c.header()))?;
            return Ok(ExportWriter::Csv(Box::new(w)));
        }
        let mut workbook = Workbook::new();
        let header = Format::new().set_bold();
        let text = Format::new().set_num_format("@");
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Products")?;
        for (col, c) in columns.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, c.header(), &header)?;
        }
        Ok(ExportWriter::Xlsx(Box::new(XlsxExport {
            path: path.to_path_buf(),
            workbook,
            text,
            widths: columns.iter().map(|c| c.header().len() + 3).collect(),
            columns: columns.to_vec(),
            row: 0,
        })))
    }

    fn write(&mut self, cells: &[Value]) -> anyhow::Result<()> {
        match self {
            ExportWriter::Csv(w) => {
                let fields = cells.iter().map(|v| match v {
                    Value::Empty => String::new(),
                    Value::Text(s) => neutralize_formula(s).into_owned(),
                    Value::Number(n) => format_number(*n),
                });
                w.write_record(fields)?;
            }
            ExportWriter::Xlsx(x) => {
                x.row += 1;
                let sheet = x.workbook.worksheet_from_index(0)?;
                for (col, v) in cells.iter().enumerate() {
                    let c = col as u16;
                    let shown = match v {
                        Value::Empty => continue,
                        Value::Text(s) => {
                            sheet.write_string_with_format(x.row, c, s, &x.text)?;
                            s.chars().count()
                        }
                        Value::Number(n) => {
                            sheet.write_number(x.row, c, *n)?;
                            format_number(*n).len()
                        }
                    };
                    x.widths[col] = x.widths[col].max(shown + 1);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            ExportWriter::Csv(mut w) => Ok(w.flush()?),
            ExportWriter::Xlsx(mut x) => {
                let rows = x.row;
                let sheet = x.workbook.worksheet_from_index(0)?;
                frame_sheet(sheet, &x.columns, &x.widths, rows)?;
                x.workbook.save(&x.path)?;
                Ok(())
            }
        }
    }
}

/// The header frozen and filtered, widths fitted, and each field's column
/// set up as in the template (text codes, checked numbers).
fn frame_sheet(
    sheet: &mut Worksheet,
    columns: &[ExportColumn],
    widths: &[usize],
    rows: u32,
) -> Result<(), XlsxError> {
    for (col, c) in columns.iter().enumerate() {
        match c {
            ExportColumn::Field(f) => {
                prepare_column(sheet, col as u16, *f, widths[col], VALIDATED_ROWS.max(rows))?
            }
            ExportColumn::Id => {
                sheet.set_column_width(col as u16, widths[col].clamp(8, 60) as f64)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, rows, columns.len().saturating_sub(1) as u16)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::NamedRef;

    #[test]
    fn references_by_name_only_when_the_name_leads_back() {
        let category = |id, name: &str| Category {
            id,
            name: Some(name.into()),
            ..Category::default()
        };
        let categories = [
            category(1, "Shoes"),
            category(2, "shoes "),
            category(3, "2024"),
        ];
        let names = Names::new(&categories, &[]);
        let cell = |id| {
            let p = Product {
                category: Some(NamedRef {
                    id: Some(id),
                    name: None,
                }),
                ..Product::default()
            };
            value(&p, ExportColumn::Field(Field::Category), &names)
        };
        assert_eq!(cell(1), Value::Text("Shoes".into()));
        // A second category of the same name, and one named with digits, go by id.
        assert_eq!(cell(2), Value::Number(2.0));
        assert_eq!(cell(3), Value::Number(3.0));
    }

    #[test]
    fn columns_keep_what_a_re_import_needs() {
        let args = ExportArgs {
            out: "x.csv".into(),
            category: Vec::new(),
            columns: vec!["salesPrice".into(), "EAN".into()],
            sandbox: true,
            api: Default::default(),
            pacing: Default::default(),
            quiet: true,
        };
        let plan = ExportPlan::new(&args, &|_| None).unwrap();
        let headers: Vec<&str> = plan.columns.iter().map(|c| c.header()).collect();
        assert_eq!(
            headers,
            ["id", "name", "number", "salesPrice", "ean", "category"]
        );
        let bad = ExportArgs {
            columns: vec!["colour".into()],
            ..args
        };
        let e = ExportPlan::new(&bad, &|_| None).unwrap_err().to_string();
        assert!(e.contains("no column \"colour\""), "{e}");
    }
}
