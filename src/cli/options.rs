//! The machinery that lets one struct serve as both flags and config-file
//! keys: [`option_group!`] declares a group once and derives its merge,
//! [`Merge`] says how one field is merged, and [`field_names`] asks serde for
//! a group's keys so a flat config file can be split among the groups.

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// How a field given on the command line is merged with the same key of the
/// config file: the flag wins.
pub(crate) trait Merge {
    /// `self` (the flag) over `under` (the config file).
    fn merge(self, under: Self) -> Self;
}

impl<T> Merge for Option<T> {
    fn merge(self, under: Self) -> Self {
        self.or(under)
    }
}

/// A switch is on when the flag or the config file turns it on.
impl Merge for bool {
    fn merge(self, under: Self) -> Self {
        self || under
    }
}

/// Declares an option group: the struct exactly as written (with its clap and
/// serde attributes) plus `merged_over`, which merges it field by field with
/// the same group read from the config file. A new option is one field.
macro_rules! option_group {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// This group's flags over `config`, the same group read from
            /// the config file: a flag given wins, field by field.
            pub fn merged_over(self, config: Self) -> Self {
                use $crate::cli::options::Merge as _;
                Self { $( $field: self.$field.merge(config.$field), )* }
            }
        }
    };
}
pub(crate) use option_group;

/// The keys serde accepts for the struct `T`, asked from its `Deserialize`
/// implementation (so a group's keys are written once, in the struct).
pub(crate) fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Names(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Names {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("names only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut names = Names(None);
    let _ = T::deserialize(&mut names);
    names.0.unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Two {
        first: Option<u32>,
        #[serde(rename = "second_key")]
        second: bool,
    }

    #[test]
    fn names_come_from_serde() {
        assert_eq!(field_names::<Two>(), ["first", "second_key"]);
    }

    #[test]
    fn flags_win_and_switches_add_up() {
        assert_eq!(Some(1).merge(Some(2)), Some(1));
        assert_eq!(None.merge(Some(2)), Some(2));
        assert!(false.merge(true));
        assert!(!false.merge(false));
    }
}
