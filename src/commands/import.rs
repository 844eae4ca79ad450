//! `import`
