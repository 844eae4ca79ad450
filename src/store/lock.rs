//! The two locks a writing run holds, both advisory (`flock` on Unix,
//! `LockFileEx` on Windows through the standard library), released by the
//! system when the process ends, also on a kill:
//! - [`JobLock`], on the job's store file: one run per job (results file);
//! - [`TargetLock`], on a file in the user's own runtime folder, named by a
//!   hash of the organization and the API in canonical spelling: one
//!   writing run per organization and product catalogue on the machine,
//!   whatever the input's bytes, the results file or the API's spelling
//!   (`localhost`, `127.0.0.1`, a trailing slash, an explicit default port).
//!
//! Lock files are opened without following symlinks and are never
//! truncated: the holder's description is written over the start of the
//! file, padded to a fixed width. The organization's lock file is removed
//! by its holder on release; a run that waited on it checks that the lock
//! it got is on the file its path still names, else opens that one. The runtime folder is
//! `$XDG_RUNTIME_DIR/product-import` (private to the user by the system), or
//! `$HOME/.cache/product-import/locks`, created private (mode 0700); a folder
//! or file that is not the user's own is refused rather than used.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use url::{Host, Url};

/// How wide the holder's description is written.
const HOLDER_WIDTH: usize = 400;

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run uses this job's store.
    #[error(
        "another import is using this job ({holder}; its store is {}); wait for it to finish, \
         or choose another --results",
        store.display()
    )]
    JobBusy {
        /// The store file.
        store: PathBuf,
        /// Who holds it.
        holder: String,
    },
    /// Another run writes to the same organization.
    #[error(
        "another import into {target} is running ({holder}); one import at a time writes to an \
         organization's products: wait for it to finish, or give --wait-lock SECONDS to wait"
    )]
    TargetBusy {
        /// The organization and API.
        target: String,
        /// Who holds it, as its lock file says.
        holder: String,
    },
    /// The lock file or its folder cannot be used.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

/// Held while a run writes a job's store.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
}

impl JobLock {
    /// Locks the store file at `store` (created empty when absent); when
    /// another run holds it, `holder` says who.
    pub fn acquire(store: &Path, holder: impl FnOnce() -> String) -> Result<JobLock, LockError> {
        let io = |source| LockError::Io {
            path: store.to_path_buf(),
            source,
        };
        let file = open_nofollow(store).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(JobLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::JobBusy {
                store: store.to_path_buf(),
                holder: holder(),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// Held while a run writes to an organization's products. Its file is
/// removed when the lock is released (a killed run leaves it, and the next
/// run takes it over).
#[derive(Debug)]
pub struct TargetLock {
    file: File,
    path: PathBuf,
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        // Removed while still held: a run waiting on this file then finds
        // it gone from its path and opens the new one (see `acquire_in`).
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

impl TargetLock {
    /// Takes the lock on `target` (see [`canonical_target`]), waiting up to
    /// `wait` for a run that holds it; `note` says what this run is (its
    /// results file).
    pub fn acquire(target: &str, note: &str, wait: Duration) -> Result<TargetLock, LockError> {
        let dir = runtime_dir().map_err(|source| LockError::Io {
            path: PathBuf::from("the runtime folder"),
            source,
        })?;
        Self::acquire_in(&dir, target, note, wait)
    }

    /// [`acquire`](Self::acquire) with the lock folder given.
    pub fn acquire_in(
        dir: &Path,
        target: &str,
        note: &str,
        wait: Duration,
    ) -> Result<TargetLock, LockError> {
        use sha2::{Digest, Sha256};
        let key = Sha256::digest(target.as_bytes());
        let name: String = key[..10].iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("target-{name}.lock"));
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let deadline = Instant::now() + wait;
        let mut file = open_nofollow(&path).map_err(io)?;
        loop {
            match file.try_lock() {
                // The holder before may have removed the file on release:
                // the lock counts only on the file the path names.
                Ok(()) if same_file(&file, &path) => break,
                Ok(()) => file = open_nofollow(&path).map_err(io)?,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = (&mut file)
                        .take(HOLDER_WIDTH as u64)
                        .read_to_string(&mut holder);
                    return Err(LockError::TargetBusy {
                        target: target.to_string(),
                        holder: holder.trim().to_string(),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let who = holder_text(note);
        write_at_start(&file, &who).map_err(io)?;
        Ok(TargetLock { file, path })
    }
}

/// "process N since DATE, NOTE", padded to [`HOLDER_WIDTH`] bytes.
fn holder_text(note: &str) -> String {
    let mut who = format!(
        "process {} since {}, {note}",
        std::process::id(),
        httpdate::fmt_http_date(std::time::SystemTime::now())
    );
    let mut cut = who.len().min(HOLDER_WIDTH - 1);
    while !who.is_char_boundary(cut) {
        cut -= 1;
    }
    who.truncate(cut);
    let pad = HOLDER_WIDTH - 1 - who.len();
    who.extend(std::iter::repeat_n(' ', pad));
    who.push('\n');
    who
}

#[cfg(unix)]
fn write_at_start(file: &File, text: &str) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(text.as_bytes(), 0)
}

#[cfg(not(unix))]
fn write_at_start(file: &File, text: &str) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(text.as_bytes())
}

/// Opens (creating) a lock file for reading and writing without following
/// a symlink in its last component and without truncating it; refuses one
/// that is not a regular file of this user's.
fn open_nofollow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return io::Error::new(e.kind(), "it is a symbolic link; remove it");
        }
        e
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("it is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(io::Error::other(format!(
                "it belongs to another user (uid {}); remove it",
                meta.uid()
            )));
        }
    }
    Ok(file)
}

/// The user's private folder for lock files, created when absent.
pub fn runtime_dir() -> io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("product-import"))
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".cache/product-import/locks"))
        })
        .ok_or_else(|| io::Error::other("neither XDG_RUNTIME_DIR nor HOME is set"))?;
    private_dir(&base)?;
    Ok(base)
}

/// Creates `dir` (mode 0700) when absent; refuses a symlink, or a folder of
/// another user's or that others can write.
fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a folder (a symbolic link?)",
            dir.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me || meta.permissions().mode() & 0o022 != 0 {
            return Err(io::Error::other(format!(
                "{} is not private to this user",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// An API and organization in one spelling: scheme and host in lower case,
/// any loopback host as `127.0.0.1`, the port always given, no trailing
/// slash; `organization` when the credentials say it.
pub fn canonical_target(base_url: &Url, organization: Option<&str>) -> String {
    let host = match base_url.host() {
        Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => "127.0.0.1".to_string(),
        Some(Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(Host::Ipv4(ip)) if ip.is_loopback() => "127.0.0.1".to_string(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) if ip.is_loopback() => "127.0.0.1".to_string(),
        Some(Host::Ipv6(ip)) => format!("[{ip}]"),
        None => String::new(),
    };
    let port = base_url.port_or_known_default().unwrap_or(0);
    let path = base_url.path().trim_end_matches('/');
    let api = format!("{}://{host}:{port}{path}", base_url.scheme());
    match organization {
        Some(org) => format!("organization {} at {api}", org.trim()),
        None => api,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_for_one_api() {
        let t = |u: &str| canonical_target(&Url::parse(u).unwrap(), Some("42"));
        let one = t("http://127.0.0.1:8080/v1");
        for other in [
            "http://localhost:8080/v1",
            "http://LOCALHOST:8080/v1/",
            "http://[::1]:8080/v1",
        ] {
            assert_eq!(t(other), one, "{other}");
        }
        assert_eq!(
            t("https://rest.api.example.com/v1"),
            t("https://REST.api.example.com:443/v1/")
        );
        assert_ne!(t("http://127.0.0.1:8081/v1"), one);
    }

    #[test]
    fn a_second_holder_is_named_and_waits_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let first =
            TargetLock::acquire_in(dir.path(), "t", "results a.csv", Duration::ZERO).unwrap();
        let err =
            TargetLock::acquire_in(dir.path(), "t", "results b.csv", Duration::ZERO).unwrap_err();
        let said = err.to_string();
        assert!(said.contains("a.csv") && said.contains("process"), "{said}");
        drop(first);
        let second =
            TargetLock::acquire_in(dir.path(), "t", "results b.csv", Duration::from_secs(1))
                .unwrap();
        drop(second);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "released locks leave no file"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        use sha2::{Digest, Sha256};
        let key = Sha256::digest(b"t");
        let name: String = key[..10].iter().map(|b| format!("{b:02x}")).collect();
        std::os::unix::fs::symlink(&victim, dir.path().join(format!("target-{name}.lock")))
            .unwrap();
        let err = TargetLock::acquire_in(dir.path(), "t", "x", Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }
}
