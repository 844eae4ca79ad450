//! Files written whole are written beside their place and renamed into it,
//! so a kill or a full disk leaves either the old file or the new one, never
//! a torn one.
//!
//! The temporary file and its rename are tempfile's ([`NamedTempFile`] and
//! its `persist`): a unique name in the target's folder (so the rename stays
//! on one file system), removed when dropped before it took its place.

use std::fs::File;
use std::io;
use std::path::Path;

use tempfile::NamedTempFile;

/// A file being written beside `path` until [`persist`](Beside::persist)
/// renames it into place; dropped before that, it is removed.
pub(crate) struct Beside(NamedTempFile);

impl Beside {
    /// Creates `.<name>.<random>.tmp` in `path`'s folder, with the
    /// permissions a plain `File::create` would give (tempfile's own default
    /// is owner-only, which would change who can read a results file).
    pub(crate) fn create(path: &Path) -> io::Result<Beside> {
        let prefix = format!(
            ".{}.",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        builder.tempfile_in(folder).map(Beside)
    }

    /// Where the file is being written.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }

    /// The open file.
    pub(crate) fn file(&self) -> &File {
        self.0.as_file()
    }

    /// Renames the file to `path`, replacing what was there.
    pub(crate) fn persist(self, path: &Path) -> io::Result<()> {
        self.0.persist(path).map(drop).map_err(|e| e.error)
    }
}

/// Calls `write` with a temporary path in the same folder, then renames that
/// file to `path`. On failure the temporary file is removed and `path` is
/// left as it was.
pub(crate) fn replace(path: &Path, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let tmp = Beside::create(path)?;
    write(tmp.path())?;
    tmp.persist(path)
}

/// Writes `bytes` to `path` through [`replace`], synced before the rename.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = Beside::create(path)?;
    let mut file = tmp.file();
    io::Write::write_all(&mut file, bytes)?;
    file.sync_all()?;
    tmp.persist(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write(&path, b"old").unwrap();
        let err = replace(&path, |tmp| {
            std::fs::write(tmp, b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_is_readable_as_a_created_one_is() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.csv");
        std::fs::write(&plain, b"x").unwrap();
        let replaced = dir.path().join("replaced.csv");
        write(&replaced, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&replaced), mode(&plain));
    }

    #[test]
    fn a_beside_file_dropped_unpersisted_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.csv");
        let tmp = Beside::create(&path).unwrap();
        assert_eq!(tmp.path().parent(), Some(dir.path()));
        drop(tmp);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
