//! GTIN (EAN/UPC) barcodes and their check digit.

/// Why a text is not a valid GTIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Contains something other than digits.
    #[error("must contain digits only")]
    NotDigits,
    /// Wrong number of digits.
    #[error("must have 8, 12, 13 or 14 digits, not {0}")]
    Length(usize),
    /// The last digit does not match.
    #[error("has a wrong check digit (expected {expected})")]
    CheckDigit {
        /// The check digit the other digits call for.
        expected: u8,
    },
}

/// Checks a GTIN-8/12/13/14 (EAN/UPC) including its check digit.
///
/// The text must be the digits alone: callers clean and trim it first.
pub fn check_gtin(s: &str) -> Result<(), GtinError> {
    let digits = s.as_bytes();
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(GtinError::NotDigits);
    }
    if !matches!(digits.len(), 8 | 12 | 13 | 14) {
        return Err(GtinError::Length(digits.len()));
    }
    let (&check, payload) = digits.split_last().expect("at least 8 digits");
    // From the right, payload digits are weighted 3, 1, 3, 1, ...
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    let expected = ((10 - sum % 10) % 10) as u8;
    if check - b'0' == expected {
        Ok(())
    } else {
        Err(GtinError::CheckDigit { expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtins() {
        for ok in [
            "4006381333931",
            "96385074",
            "036000291452",
            "7031234567895",
            "10012345678902",
        ] {
            assert_eq!(check_gtin(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_gtin("4006381333932"),
            Err(GtinError::CheckDigit { expected: 1 })
        );
        assert_eq!(
            check_gtin("7031234567890"),
            Err(GtinError::CheckDigit { expected: 5 })
        );
        assert_eq!(
            check_gtin("400638133393"),
            Err(GtinError::CheckDigit { expected: 0 })
        );
        assert_eq!(check_gtin("12345"), Err(GtinError::Length(5)));
        assert_eq!(check_gtin(""), Err(GtinError::Length(0)));
        assert_eq!(check_gtin("4006381 33931"), Err(GtinError::NotDigits));
        assert_eq!(check_gtin("40063813339３"), Err(GtinError::NotDigits));
    }
}
