//! The subcommands, one module each: each turns its parsed arguments into a
//! plan and runs it.

pub mod import;
