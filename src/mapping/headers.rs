//! Matching headers to fields by name: normalization and the built-in names
//! in English, Norwegian, Swedish and Danish.

use super::Field;

/// Normalizes a header for matching: lower case, Nordic letters folded
/// (`ø`→`o`, `å`→`a`, `æ`→`ae`, `ä`→`a`, `ö`→`o`), and spaces, `_`, `-`, `.`
/// and other punctuation removed.
pub fn normalize_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        for l in c.to_lowercase() {
            match l {
                'ø' | 'ö' | 'ó' | 'ò' | 'ô' => out.push('o'),
                'å' | 'ä' | 'á' | 'à' | 'â' => out.push('a'),
                'æ' => out.push_str("ae"),
                'é' | 'è' | 'ê' | 'ë' => out.push('e'),
                'ü' | 'ú' => out.push('u'),
                c if c.is_alphanumeric() => out.push(c),
                _ => {}
            }
        }
    }
    out
}

/// Built-in header names (already normalized) for each field.
fn builtin_aliases(field: Field) -> &'static [&'static str] {
    match field {
        Field::Name => &[
            "productname",
            "itemname",
            "product",
            "title",
            "articlename",
            "varenavn",
            "navn",
            "produktnavn",
            "artikkelnavn",
            "benevnelse",
            "varebetegnelse",
            "betegnelse",
            "produktnamn",
            "artikelnamn",
            "benamning",
            "namn",
            "varenavn",
            "artikelnavn",
        ],
        Field::Number => &[
            "productnumber",
            "productno",
            "itemnumber",
            "itemno",
            "sku",
            "articlenumber",
            "articleno",
            "artno",
            "partnumber",
            "partno",
            "productcode",
            "itemcode",
            "varenummer",
            "varenr",
            "artikkelnummer",
            "artikkelnr",
            "artnr",
            "produktnummer",
            "produktnr",
            "artikelnummer",
            "artikelnr",
            "nummer",
            "nr",
            "varekode",
        ],
        Field::Type => &[
            "producttype",
            "varetype",
            "produkttype",
            "typ",
            "produkttyp",
            "artikeltyp",
        ],
        Field::Status => &[
            "productstatus",
            "varestatus",
            "produktstatus",
            "artikelstatus",
        ],
        Field::Description => &[
            "desc",
            "longdescription",
            "productdescription",
            "beskrivelse",
            "produktbeskrivelse",
            "varebeskrivelse",
            "beskrivning",
            "produktbeskrivning",
        ],
        Field::CostPrice => &[
            "cost",
            "purchaseprice",
            "costprice",
            "innpris",
            "innkjopspris",
            "kostpris",
            "inkopspris",
            "indkobspris",
            "kostnadspris",
        ],
        Field::SalesPrice => &[
            "price",
            "saleprice",
            "unitprice",
            "retailprice",
            "listprice",
            "utpris",
            "salgspris",
            "pris",
            "utsalgspris",
            "forsaljningspris",
            "listpris",
            "salgpris",
            "salgsprisekskmva",
            "prisekskmva",
        ],
        Field::IndirectCost => &[
            "indirectcosts",
            "indirektekostnader",
            "indirektkostnad",
            "indirektekostnad",
            "indirektkost",
            "indirekteomkostninger",
        ],
        Field::WebshopEnabled => &[
            "webshop",
            "onlineshop",
            "showinwebshop",
            "nettbutikk",
            "visinettbutikk",
            "webbutikk",
            "webbutik",
            "nettbutik",
        ],
        Field::StockIsManaged => &[
            "stockmanaged",
            "managedstock",
            "managestock",
            "lagerstyrt",
            "lagerfort",
            "lagerstyrd",
            "lagerstyring",
        ],
        Field::StockQuantity => &[
            "quantity",
            "qty",
            "onhand",
            "stock",
            "instock",
            "stocklevel",
            "beholdning",
            "lagerbeholdning",
            "antall",
            "antal",
            "lagersaldo",
            "saldo",
            "lager",
            "pålager",
            "palager",
            "lagerantall",
        ],
        Field::StockLocation => &[
            "location",
            "binlocation",
            "bin",
            "shelf",
            "lagerplass",
            "lagerplats",
            "hylleplass",
            "lagerplads",
            "hyllplats",
            "lokasjon",
        ],
        Field::Ean => &[
            "barcode",
            "gtin",
            "ean13",
            "eancode",
            "eannumber",
            "eannr",
            "upc",
            "strekkode",
            "streckkod",
            "stregkode",
            "eankode",
            "gtinnummer",
        ],
        Field::EanAlternative => &[
            "alternativeean",
            "altean",
            "ean2",
            "eanalt",
            "alternativeBarcode",
            "alternativstrekkode",
            "alternativean",
            "ekstrastrekkode",
        ],
        Field::SupplierItemCode => &[
            "supplieritemcode",
            "vendoritemcode",
            "supplierproductcode",
            "leverandorvarekode",
            "leverandorensvarekode",
            "leverantorsartikelkod",
        ],
        Field::SupplierNumber => &[
            "supplierproductnumber",
            "supplierpartnumber",
            "vendorpartnumber",
            "supplierarticlenumber",
            "supplieritemnumber",
            "vendoritemnumber",
            "leverandorvarenummer",
            "leverandorvarenr",
            "leverandorensvarenummer",
            "leverandorensvarenr",
            "levvarenr",
            "levartnr",
            "leverantorensartikelnummer",
            "leverantorsartikelnummer",
            "leverandorensvarenummer",
        ],
        Field::SupplierName => &[
            "supplierproductname",
            "vendorproductname",
            "leverandorvarenavn",
            "leverandorensvarenavn",
            "leverantorensartikelnamn",
        ],
        Field::SupplierPrice => &[
            "supplierprice",
            "vendorprice",
            "supplierproductprice",
            "leverandorpris",
            "leverandorinnpris",
            "leverantorspris",
            "leverandorenspris",
        ],
        Field::UnitsId => &["unitid", "unitsid", "enhetid", "enhetsid", "enhedsid"],
        Field::CategoryId => &[
            "categoryid",
            "kategoriid",
            "varegruppeid",
            "produktgruppeid",
            "varugruppid",
        ],
        Field::SupplierId => &["supplierid", "vendorid", "leverandorid", "leverantorid"],
        Field::Category => &[
            "category",
            "productcategory",
            "productgroup",
            "group",
            "itemgroup",
            "kategori",
            "varegruppe",
            "produktgruppe",
            "produktkategori",
            "varugrupp",
            "varegruppenr",
            "varegruppenummer",
            "varekategori",
        ],
        Field::Unit => &[
            "unit",
            "units",
            "uom",
            "unitofmeasure",
            "enhet",
            "enhed",
            "maleenhet",
            "salgsenhet",
            "maltenhet",
        ],
        Field::Supplier => &[
            "supplier",
            "vendor",
            "leverandor",
            "leverantor",
            "supplierorgnr",
            "leverandornavn",
        ],
    }
}

/// Finds the field a header names, by canonical path or built-in alias.
pub fn match_header(header: &str) -> Option<Field> {
    let key = normalize_header(header);
    if key.is_empty() {
        return None;
    }
    Field::ALL.into_iter().find(|&f| {
        normalize_header(f.path()) == key
            || builtin_aliases(f)
                .iter()
                .any(|a| normalize_header(a) == key)
    })
}
