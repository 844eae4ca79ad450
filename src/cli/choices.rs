//! The values of options that are more than a number, a switch or a path:
//! the enums that are also flags (each derives clap's `ValueEnum` and serde's
//! `Deserialize` with the same kebab-case words, so a flag and a config key
//! take the same values) and thresholds given as a count or a share.

use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// `--decimal` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecimalArg {
    /// `1 234,50`
    Comma,
    /// `1,234.50`
    Point,
}

/// `--html` values: what to do with HTML in a description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HtmlArg {
    /// Plain text: tags dropped, paragraphs and list items on lines of their own.
    Text,
    /// Sent as written.
    Keep,
}

/// `--long-text` values: what to do with a text over its field's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LongTextArg {
    /// Cut at a word boundary, with a note in the results.
    Cut,
    /// The row is invalid.
    Refuse,
}

/// `--bad-optional` values: what to do with a bad barcode or alternative EAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadOptionalArg {
    /// Left out, with a note in the results (only when the row has a product number).
    Omit,
    /// The row is invalid.
    Refuse,
}

/// `--match-by` values: what finds a row's existing product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MatchBy {
    /// The product number, else the EAN.
    #[default]
    Key,
    /// The product number, else the EAN, else the exact name (rows with neither).
    Name,
}

/// What to do with a row whose product already exists (same number, else same EAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ExistingMode {
    /// Leave it alone: the row is `skipped` with the existing id.
    #[default]
    Skip,
    /// PATCH the fields that differ; unchanged rows are `skipped`.
    Update,
    /// Do not look: create a new product every time.
    Create,
    /// The row is `failed`.
    Fail,
}

/// `--empty-cells`: what an empty cell in a column the file has does to an
/// existing product under `--existing update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyCellsMode {
    /// Clear the field (text, barcodes, unit, supplier); an emptied price is refused.
    #[default]
    Clear,
    /// Leave the product's value as it is.
    Keep,
}

/// `--missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingMode {
    /// List them in the summary and the missing file.
    Report,
    /// Set them `inactive`, and list them with the result of each.
    Deactivate,
}

/// `--rate`: a number of requests per second, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateArg {
    /// At most this many requests per second (less while the server refuses).
    PerSecond(u32),
    /// Find the server's limit from its answers (at most `--max-rate`).
    Auto,
}

impl fmt::Display for RateArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateArg::PerSecond(n) => write!(f, "{n}"),
            RateArg::Auto => f.write_str("auto"),
        }
    }
}

impl FromStr for RateArg {
    type Err = String;

    fn from_str(s: &str) -> Result<RateArg, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(RateArg::Auto);
        }
        s.parse()
            .map(RateArg::PerSecond)
            .map_err(|_| format!("\"{s}\" is not a number of requests per second or `auto`"))
    }
}

/// In the config file: `rate = 10` or `rate = "auto"`.
impl<'de> Deserialize<'de> for RateArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RateArg, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RateArg;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of requests per second like 10, or \"auto\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RateArg, E> {
                u32::try_from(v)
                    .map(RateArg::PerSecond)
                    .map_err(|_| E::custom("a rate is a whole number from 1 to 10000"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RateArg, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateArg, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A limit given as a count (`5`) or a share (`2%`, `0.5%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// At most this many.
    Count(u64),
    /// At most this percentage of a whole.
    Percent(f64),
}

impl Threshold {
    /// The largest number allowed out of `whole` (a share rounds down).
    pub fn limit(self, whole: u64) -> u64 {
        match self {
            Threshold::Count(n) => n,
            Threshold::Percent(p) => (whole as f64 * p / 100.0 + 1e-9).floor() as u64,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Count(n) => write!(f, "{n}"),
            Threshold::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for Threshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Threshold, String> {
        let s = s.trim();
        let bad = || format!("\"{s}\" is not a count (like 5) or a percentage (like 2%)");
        match s.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if p.is_finite() && (0.0..=100.0).contains(&p) {
                    Ok(Threshold::Percent(p))
                } else {
                    Err(format!("\"{s}\": a percentage is between 0% and 100%"))
                }
            }
            None => s.parse().map(Threshold::Count).map_err(|_| bad()),
        }
    }
}

/// In the config file: `max_invalid = 5` or `max_invalid = "2%"`.
impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Threshold, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count like 5 or a percentage like \"2%\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                u64::try_from(v)
                    .map(Threshold::Count)
                    .map_err(|_| E::custom("a count is not negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::Count(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_a_number_or_auto() {
        assert_eq!("10".parse::<RateArg>(), Ok(RateArg::PerSecond(10)));
        assert_eq!(" Auto ".parse::<RateArg>(), Ok(RateArg::Auto));
        assert!("fast".parse::<RateArg>().is_err());
        #[derive(Deserialize)]
        struct T {
            rate: RateArg,
        }
        let t: T = toml::from_str("rate = 25").unwrap();
        assert_eq!(t.rate, RateArg::PerSecond(25));
        let t: T = toml::from_str("rate = \"auto\"").unwrap();
        assert_eq!(t.rate, RateArg::Auto);
        assert!(toml::from_str::<T>("rate = -1").is_err());
    }

    #[test]
    fn thresholds_parse_and_limit() {
        assert_eq!("5".parse::<Threshold>(), Ok(Threshold::Count(5)));
        assert_eq!(" 2.5% ".parse::<Threshold>(), Ok(Threshold::Percent(2.5)));
        assert!("-1".parse::<Threshold>().is_err());
        assert!("150%".parse::<Threshold>().is_err());
        assert!("many".parse::<Threshold>().is_err());
        assert_eq!(Threshold::Percent(10.0).limit(25), 2);
        assert_eq!(Threshold::Percent(10.0).limit(30), 3);
        assert_eq!(Threshold::Count(4).limit(1), 4);
        #[derive(Deserialize)]
        struct T {
            a: Threshold,
            b: Threshold,
        }
        let t: T = toml::from_str("a = 3\nb = \"1%\"").unwrap();
        assert_eq!((t.a, t.b), (Threshold::Count(3), Threshold::Percent(1.0)));
    }
}
