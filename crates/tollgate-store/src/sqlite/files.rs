//! The data directory's permissions: created `0700` with every database file `0600` whatever
//! the umask, and refused at start when other users can reach them, since the database holds
//! the JWT signing keys (whoever reads one can sign any token) and every tenant's data.

use std::fs::{DirBuilder, OpenOptions, Permissions as FsPermissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::DB_FILE;
use crate::StoreError;

/// Whether a directory or database that other users can reach is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permissions {
    /// Refuse (the default).
    Private,
    /// Accept, for operators who protect the directory otherwise (setting
    /// `allow_insecure_permissions`).
    AllowShared,
}

/// The files SQLite keeps beside the database.
const SUFFIXES: [&str; 3] = ["", "-wal", "-shm"];

/// Bits that give group or other users any access.
const SHARED: u32 = 0o077;

/// Makes the directory and an empty database file (SQLite gives its `-wal` and `-shm` files the
/// database's mode), or checks the ones there. Returns the database's path.
pub(super) fn prepare(dir: &Path, permissions: Permissions) -> Result<PathBuf, StoreError> {
    let io = |what: &'static str| move |e| StoreError::unavailable(what, e);
    if !dir.exists() {
        DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io("creating the data directory"))?;
    }
    let path = dir.join(DB_FILE);
    if permissions == Permissions::Private {
        check(dir)?;
        for suffix in SUFFIXES {
            check(&PathBuf::from(format!("{}{suffix}", path.display())))?;
        }
    }
    OpenOptions::new().create(true).append(true).mode(0o600).open(&path).map_err(io("creating the database file"))?;
    Ok(path)
}

/// Takes group and other access away from every database file (a file made before this check
/// existed, or by SQLite under a permissive umask).
pub(super) fn restrict_all(dir: &Path) -> Result<(), StoreError> {
    for suffix in SUFFIXES {
        let file = PathBuf::from(format!("{}{suffix}", dir.join(DB_FILE).display()));
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        if meta.permissions().mode() & SHARED != 0 {
            std::fs::set_permissions(&file, FsPermissions::from_mode(0o600))
                .map_err(|e| StoreError::unavailable("restricting a database file", e))?;
        }
    }
    Ok(())
}

fn check(path: &Path) -> Result<(), StoreError> {
    let Ok(meta) = std::fs::metadata(path) else { return Ok(()) };
    let mode = meta.permissions().mode() & 0o777;
    if mode & SHARED == 0 {
        return Ok(());
    }
    let fix = if meta.is_dir() { "chmod 700" } else { "chmod 600" };
    Err(StoreError::unavailable(
        "checking the data directory's permissions",
        format!(
            "{} is readable by other users (mode {mode:03o}); it holds the JWT signing keys and every tenant's data. \
             Fix: `{fix} {}` (and `chmod 600` the tollgate.db files), or set allow_insecure_permissions = true \
             if the directory is protected otherwise",
            path.display(),
            path.display()
        ),
    ))
}
