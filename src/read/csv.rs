//! CSV reading: encoding and delimiter detection, streaming records.

use std::path::Path;

use super::{ReadError, ReadOptions, Table};

/// Opens a CSV file, detecting its encoding and delimiter unless given.
pub fn open(_path: &Path, _options: &ReadOptions) -> Result<Table, ReadError> {
    todo!("implemented by the reader work")
}
